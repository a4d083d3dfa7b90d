"""Any config that validates round-trips through its fields; any tau outside (0, 1] is refused."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ddpg.config import DDPGConfig


@given(tau=st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True), st.just(float("nan"))))
def test_tau_outside_the_interval_is_refused(tau):
    with pytest.raises(ValueError, match=r"Expected 0 < tau <= 1\. Received: tau="):
        DDPGConfig(tau=tau)


@given(tau=st.floats(0.0, 1.0, exclude_min=True), gamma=st.floats(0.0, 1.0),
       batch_size=st.integers(1, 512), extra=st.integers(0, 10_000))
def test_valid_values_round_trip(tau, gamma, batch_size, extra):
    config = DDPGConfig(tau=tau, gamma=gamma, batch_size=batch_size, buffer_capacity=batch_size + extra)
    assert DDPGConfig(**dataclasses.asdict(config)) == config


@given(capacity=st.integers(1, 10_000), excess=st.integers(1, 10_000))
def test_a_batch_larger_than_the_buffer_is_refused(capacity, excess):
    with pytest.raises(ValueError, match=r"Expected batch_size <= buffer_capacity"):
        DDPGConfig(buffer_capacity=capacity, batch_size=capacity + excess)
