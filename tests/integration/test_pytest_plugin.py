"""The pytest plugin: the xmtpd_env fixture gives a real environment and checks invariants."""

from __future__ import annotations

from pathlib import Path

import pytest

from xmtpd_e2e.config import default_home
from xmtpd_e2e.record import RunState

pytest_plugins = ["pytester"]

# pytester points HOME at a scratch directory; the installed components stay where they are.
HOME = str(default_home())


@pytest.fixture(autouse=True)
def _installed_components(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XMTPD_E2E_HOME", HOME)


PASSING = """
def test_replicates(xmtpd_env):
    xmtpd_env.add_nodes(2)
    xmtpd_env.new_client(100).publish_envelopes(5)
    xmtpd_env.node(200).wait_for_envelopes(5, client_only=True)
"""

BROKEN = """
def test_deaf_node(xmtpd_env):
    xmtpd_env.add_node()
    xmtpd_env.add_node(env={"XMTPD_SYNC_ENABLE": "false"})
    xmtpd_env.new_client(100).publish_envelopes(3)
"""

FAILING = """
def test_wrong_expectation(xmtpd_env):
    xmtpd_env.add_node()
    assert xmtpd_env.node(100).get_envelope_count(client_only=True) == 1
"""


def test_fixture_runs_a_real_cluster(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PASSING)
    result = pytester.runpytest_subprocess("--xmtpd-runtime", "local", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_invariants_fail_the_test_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(BROKEN)
    result = pytester.runpytest_subprocess("--xmtpd-runtime", "local", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*global invariants violated: node 200 is missing 3 of 3 published envelopes*"])


def test_a_failing_test_keeps_artifacts_and_is_not_blamed_twice(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING)
    result = pytester.runpytest_subprocess(
        "--xmtpd-runtime", "local", "--xmtpd-artifacts", "art", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(failed=1)
    assert list((pytester.path / "art").rglob("*node-100*")), "the node's logs/DB summary were collected"


NEVER_SET_UP = """
def test_needs_a_cluster(xmtpd_env):
    pass
"""


def test_a_set_up_error_leaves_no_run_record(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The fixture's runtime cannot be created (a kubeconfig that does not exist): the test errors
    with the reason, and the run's record, created before the runtime, is gone."""
    home = tmp_path / "home"
    monkeypatch.setenv("XMTPD_E2E_HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    pytester.makepyfile(NEVER_SET_UP)
    result = pytester.runpytest_subprocess(
        "--xmtpd-runtime", "kubernetes", "--xmtpd-image-set", "local", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cannot use kubeconfig*"])
    assert list(RunState.directory(home).iterdir()) == [], "a run record (or its directory) was left"
