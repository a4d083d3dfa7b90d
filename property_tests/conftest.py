"""Hypothesis profiles. `ci` (used by tox and .ci/run) runs more examples than the default."""

import os

from hypothesis import HealthCheck, settings

# deadline=None: the first call of anything that touches TensorFlow traces a graph and can take
# seconds, which is not a bug in the property under test.
settings.register_profile("ci", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
