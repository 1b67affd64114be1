"""The package root is the test author's whole import surface."""

from __future__ import annotations

import subprocess
import sys

import pytest

import xmtpd_e2e


def test_every_public_name_resolves() -> None:
    for name in xmtpd_e2e.__all__:
        assert getattr(xmtpd_e2e, name) is not None, name


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Enviroment'"):
        getattr(xmtpd_e2e, "Enviroment")


def test_cli_startup_does_not_import_the_heavy_libraries() -> None:
    code = "import sys, xmtpd_e2e.cli.main; print('web3' in sys.modules, 'grpc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_errors_a_scenario_catches_are_at_the_root() -> None:
    from xmtpd_e2e.client.errors import PublishError

    for name in ("PublishError", "ServiceError", "ServiceNotReady", "ContractRevert", "WaitTimeout", "CheckFailed"):
        assert name in xmtpd_e2e.__all__, name
    assert xmtpd_e2e.PublishError is PublishError
