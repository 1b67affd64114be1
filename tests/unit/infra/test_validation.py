"""Where the MLS validation service comes from, and what is said when it cannot come at all."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.binaries import VALIDATION_BIN_VARIABLE
from xmtpd_e2e.infra.validation import (
    local_validation_image,
    check_validation_bin,
    find_validation_bin,
    validation_source,
    validation_unavailable,
)


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture()
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunConfig:
    """A run with no validation service anywhere: no variable, an empty home, an empty PATH."""
    monkeypatch.delenv(VALIDATION_BIN_VARIABLE, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    return RunConfig(home=tmp_path / "home")


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.mkdir(), p)[1], "is not a file"),
        (lambda p: (p.write_text("x"), p)[1], "is not executable"),
    ],
)
def test_a_given_binary_that_cannot_run_names_itself_its_origin_and_the_fix(
    tmp_path: Path, make: object, said: str
) -> None:
    path = make(tmp_path / "mls-validation-service")  # type: ignore[operator]
    with pytest.raises(SetupError) as raised:
        check_validation_bin(path, "--mls-validation-bin")
    assert said in raised.value.problem
    assert str(path) in raised.value.problem and "--mls-validation-bin" in raised.value.problem
    assert "MLS validation service" in raised.value.problem
    assert "--mls-validation-bin PATH" in raised.value.fix


def test_the_flag_wins_then_the_variable_then_home_then_path(
    bare: RunConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert find_validation_bin(bare) is None
    on_path = _executable(tmp_path / "empty-path" / "mls-validation-service")
    assert find_validation_bin(bare) == on_path
    in_home = _executable(bare.home / "bin" / "mls-validation-service")
    assert find_validation_bin(bare) == in_home
    from_variable = _executable(tmp_path / "var" / "mls-validation-service")
    monkeypatch.setenv(VALIDATION_BIN_VARIABLE, str(from_variable))
    assert find_validation_bin(bare) == from_variable
    flagged = _executable(tmp_path / "flag" / "mls-validation-service")
    assert find_validation_bin(RunConfig(home=bare.home, mls_validation_bin=flagged)) == flagged


def test_a_variable_naming_nothing_is_an_error_not_a_fallback(
    bare: RunConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _executable(bare.home / "bin" / "mls-validation-service")
    monkeypatch.setenv(VALIDATION_BIN_VARIABLE, str(tmp_path / "typo"))
    with pytest.raises(SetupError, match=VALIDATION_BIN_VARIABLE):
        find_validation_bin(bare)


def test_image_runtimes_build_from_the_binary_unless_an_image_is_given(bare: RunConfig, tmp_path: Path) -> None:
    binary = _executable(tmp_path / "b" / "mls-validation-service")
    with_bin = RunConfig(home=bare.home, mls_validation_bin=binary)
    local = validation_source(with_bin, runs_images=False)
    assert local is not None and (local.binary, local.image) == (binary, None)
    built = validation_source(with_bin, runs_images=True)
    assert built is not None and built.image == local_validation_image(binary) and built.builds_image
    other = _executable(tmp_path / "other" / "mls-validation-service")
    other.write_text("#!/bin/sh\nexit 1\n")
    assert local_validation_image(other) != built.image  # another build never replaces this image
    given = RunConfig(home=bare.home, mls_validation_image="ghcr.io/xmtp/mls-validation-service:main")
    upstream = validation_source(given, runs_images=True)
    assert upstream is not None and upstream.image == given.mls_validation_image and not upstream.builds_image
    assert validation_source(given, runs_images=False) is None  # an image does not run as a host process


def test_unavailable_says_where_it_looked_and_how_to_configure_it(bare: RunConfig) -> None:
    problem = validation_unavailable(bare, runs_images=False)
    assert problem is not None
    assert "no MLS validation service is configured" in problem.problem
    assert VALIDATION_BIN_VARIABLE in problem.problem and "PATH" in problem.problem
    assert "--mls-validation-bin" in problem.fix and "--mls-validation-image" not in problem.fix
    on_docker = validation_unavailable(bare, runs_images=True)
    assert on_docker is not None and "--mls-validation-image" in on_docker.fix
    only_image = validation_unavailable(RunConfig(home=bare.home, mls_validation_image="x"), runs_images=False)
    assert only_image is not None and "docker and kubernetes only" in only_image.problem


def test_parallel_workers_get_the_same_validation_settings(tmp_path: Path) -> None:
    config = RunConfig(
        mls_validation_bin=tmp_path / "bin", mls_validation_image="ghcr.io/xmtp/mls-validation-service:x"
    )
    assert RunConfig.from_json(config.to_json()) == config
