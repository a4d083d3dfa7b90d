"""What a run needs besides its config: where its files go, and whether it resumes or replaces a run there,
how often it checkpoints, whether it writes TensorBoard events. Validated once, where it is made.
The standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ddpg.errors import UserInputError


@dataclass(frozen=True)
class RunOptions:
    """Args:
        out_dir: the run's directory (a sweep's: the directory that holds its runs).
        resume: continue the run in out_dir from its checkpoint; its config must equal the checkpoint's
            but for the budget.
        overwrite: replace a run already in out_dir.
        checkpoint_every: write out_dir/checkpoint every this many episodes (0: only at the end); also
            when stopped by SIGINT or SIGTERM, or by a non-finite transition.
        tensorboard: write TensorBoard event files to out_dir/tensorboard; a resumed run writes them only if it
            was writing them (out_dir/tensorboard is there).
    """

    out_dir: Path
    resume: bool = False
    overwrite: bool = False
    checkpoint_every: int = 10
    tensorboard: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "out_dir", Path(self.out_dir))  # a str or any path-like given
        every = self.checkpoint_every
        if not isinstance(every, int) or isinstance(every, bool) or every < 0:
            raise UserInputError(f"Expected --checkpoint-every >= 0. Received: --checkpoint-every {every}")
        if self.resume and self.overwrite:
            raise UserInputError(f"Expected --resume or --overwrite, not both. Received: --resume {self.out_dir} "
                                 "--overwrite")
