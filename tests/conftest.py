"""Shared test configuration: hypothesis runs 300 examples per property."""

import os

import pytest
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


# `make test-frameworks` sets DECONVKIT_NO_SKIPS=1: there a skip (a framework that failed
# to import, say) would hide the very check the run exists for, so it counts as a failure.
NO_SKIPS = os.environ.get("DECONVKIT_NO_SKIPS") == "1"


def _fail_skip(report):
    if NO_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under DECONVKIT_NO_SKIPS=1: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_skip(outcome.get_result())
