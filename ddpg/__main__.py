import sys

from ddpg.cli import main

sys.exit(main())
