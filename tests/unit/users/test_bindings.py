from importlib import metadata

import pytest

from xmtpd_e2e.users import bindings
from xmtpd_e2e.versions import XMTP_BINDINGS_VERSION


def test_missing_bindings_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    problem = bindings.bindings_problem()
    assert problem is not None
    assert "xmtp-bindings" in problem.problem and f"xmtp-bindings=={XMTP_BINDINGS_VERSION}" in problem.fix
    with pytest.raises(type(problem)):
        bindings.load_bindings()


def test_another_release_is_refused_naming_both_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metadata, "version", lambda name: "0.1.7")
    problem = bindings.bindings_problem()
    assert problem is not None and "0.1.7" in problem.problem and XMTP_BINDINGS_VERSION in problem.problem
