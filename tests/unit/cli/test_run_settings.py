"""The one builder of a run's settings that `run` and `explore` share."""

from __future__ import annotations

from pathlib import Path

import pytest

from xmtpd_e2e.cli.run_settings import run_config
from xmtpd_e2e.config import RunConfig, local_images

CLI_STATE = {"log_level": "debug", "log_encoding": "json"}


def _config(tmp_path: Path, **choices: object) -> RunConfig:
    settings: dict[str, object] = {
        "runtime": "local",
        "image_set": "local",
        "xmtpd_version": "v1.2.0",
        "image_overrides": {},
        "xmtpd_bin": None,
        "gateway_bin": None,
        "postgres_dsn": "postgres://u:p@127.0.0.1:1/postgres",
        "artifacts": Path("art"),
        "say": lambda line: None,
    }
    settings.update(choices)
    return run_config(CLI_STATE, **settings)  # type: ignore[arg-type]


def test_images_come_from_the_set_then_the_overrides(tmp_path: Path) -> None:
    config = _config(tmp_path, image_overrides={"xmtpd": "mine/xmtpd:dev", "gateway": None})
    expected = local_images("v1.2.0")
    assert config.images.xmtpd == "mine/xmtpd:dev"
    assert config.images.gateway == expected.gateway and config.images.chain == expected.chain


def test_log_settings_artifacts_and_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XMTPD_E2E_HOME", str(tmp_path / "home"))
    config = _config(tmp_path)
    assert (config.log_level, config.log_encoding) == ("debug", "json")
    assert config.artifacts_dir == tmp_path / "art" and config.home == tmp_path / "home"
    assert (config.scenario_timeout, config.timeout_given) == (RunConfig.scenario_timeout, False)
    timed = _config(tmp_path, timeout=42.0)
    assert (timed.scenario_timeout, timed.timeout_given) == (42.0, True)


def test_a_validation_binary_that_cannot_run_ends_the_command_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _config(tmp_path, mls_validation_bin=tmp_path / "nowhere")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "MLS validation service binary" in err and "does not exist" in err and "--mls-validation-bin" in err
    assert "Traceback" not in err
