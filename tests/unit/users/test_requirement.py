from importlib import metadata

import pytest

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.runner.requirements import XMTP_USERS, unmet_requirement


def test_scenarios_with_users_are_refused_up_front_without_the_bindings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert unmet_requirement("xmtp-group-chat", (XMTP_USERS,), RunConfig()) is None

    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    problem = unmet_requirement("xmtp-group-chat", (XMTP_USERS,), RunConfig())
    assert problem is not None
    assert "xmtp-group-chat needs the xmtp-users service" in problem.problem and "pip install" in problem.fix
