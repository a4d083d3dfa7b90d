"""Hypothesis profiles. `ci` (tox's newest Python, and so .ci/run) runs more examples than the default; `compat`
(tox's older Pythons) fewer than `ci`."""

import os

from hypothesis import HealthCheck, settings

# deadline=None: the first call of anything that touches TensorFlow traces a graph and can take
# seconds, which is not a bug in the property under test.
settings.register_profile("ci", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
# tox's older Pythons (py310-py312): the same properties at a fifth of the depth, as their share of a CI run; the
# newest Python runs them at `ci`'s, and a property's logic does not change with the interpreter.
settings.register_profile("compat", parent=settings.get_profile("ci"), max_examples=100)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
