"""Shared test configuration: hypothesis runs 300 examples per property."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=300, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("quick", max_examples=30, deadline=None)
# `make fuzz`: the soak of tests/test_fuzz_*.py, 10**4 examples per target
settings.register_profile(
    "fuzz", max_examples=10_000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
