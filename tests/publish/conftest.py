"""Session fixtures: one simulated results store, published once through the real CLI (both
defined in tests/conftest.py, shared with the results-browser tests)."""

import pytest

from tests.conftest import PUBLISH_DATE  # noqa: F401 - the tests' publication date


@pytest.fixture(scope="session")
def cohort(results_cohort):
    return results_cohort
