"""Hypothesis profiles: ``dev`` (default), ``ci`` (what CI runs) and ``thorough`` (long, local).

Pick one with HYPOTHESIS_PROFILE=thorough python -m pytest.
"""

import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True, derandomize=True)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# -- optional system programs -------------------------------------------------------------------

#: Set by .ci/run: there a missing optional program is a failure, never a skip.
REQUIRE_SYSTEM_TOOLS = os.environ.get("COMPGRAPH_REQUIRE_SYSTEM_TOOLS") == "1"

_INSTALL_HINTS = {
    "dot": "apt-get install graphviz (or brew install graphviz)",
    "chromium": "apt-get install chromium",
}


def require_program(name: str) -> str:
    """The path of system program ``name``; skip the test with a reason if it is missing.

    Under COMPGRAPH_REQUIRE_SYSTEM_TOOLS=1 (CI) a missing program fails the test instead.
    """
    path = shutil.which(name)
    if path is not None:
        return path
    message = (
        f"needs the system program {name!r}, which is not on PATH; install it "
        f"({_INSTALL_HINTS.get(name, 'with your package manager')}) to run this test"
    )
    skip_unless_required(message)


def skip_unless_required(message: str) -> None:
    """Skip with ``message``, or fail where COMPGRAPH_REQUIRE_SYSTEM_TOOLS=1 (CI) requires it."""
    if REQUIRE_SYSTEM_TOOLS:
        pytest.fail(message + " (COMPGRAPH_REQUIRE_SYSTEM_TOOLS=1 makes it mandatory)")
    pytest.skip(message)


# -- the slow tier -------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow", action="store_true", help="run the slow tier too (CI always runs it)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests marked ``slow`` unless CI is set or ``--run-slow`` is given."""
    if os.environ.get("CI") or config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow tier: CI runs it; run it here with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# -- shared data ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def breast_cancer():
    """scikit-learn's breast-cancer data (X, y), unscaled: 30 features from 0.001 to 4254,
    the data on which the models' defaults once diverged (issue 25). Bundled with
    scikit-learn, no download."""
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)
