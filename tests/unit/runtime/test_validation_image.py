"""Which validation service image the kubernetes runtime loads into the local cluster."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.infra.binaries import VALIDATION_BIN_VARIABLE
from xmtpd_e2e.infra.validation import local_validation_image
from xmtpd_e2e.runtime.registry import _validation_image


def test_the_image_built_from_the_binary_is_loaded_an_upstream_one_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(VALIDATION_BIN_VARIABLE, raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # ldd, and no mls-validation-service
    binary = tmp_path / "mls-validation-service"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    (recipe,) = _validation_image(RunConfig(home=tmp_path, mls_validation_bin=binary))
    assert recipe.tag == local_validation_image(binary)
    assert recipe.files["/usr/local/bin/mls-validation-service"] == binary.absolute()
    assert recipe.entrypoint == "/usr/local/bin/mls-validation-service"
    assert "CMD" in recipe.dockerfile() and "50051" in recipe.dockerfile()
    upstream = RunConfig(
        home=tmp_path, mls_validation_bin=binary, mls_validation_image="ghcr.io/xmtp/mls-validation-service:x"
    )
    assert _validation_image(upstream) == []
    assert _validation_image(RunConfig(home=tmp_path)) == []


def test_an_image_built_here_is_refused_for_a_cluster_that_is_not_the_local_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused before the runtime records anything (the namespace is not even named in the run)."""
    from types import SimpleNamespace

    from xmtpd_e2e.errors import SetupError
    from xmtpd_e2e.infra.images import validation_recipe
    from xmtpd_e2e.record import RunState
    from xmtpd_e2e.runtime.kubernetes import runtime as kubernetes_runtime

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    binary = tmp_path / "mls-validation-service"
    binary.write_text("#!/bin/sh\n")
    monkeypatch.setattr(kubernetes_runtime, "connect", lambda context: SimpleNamespace(local=None))
    state = RunState.create(tmp_path / "home")
    with pytest.raises(SetupError) as raised:
        kubernetes_runtime.KubernetesRuntime(state, "e1", tmp_path / "logs", extra_images=[validation_recipe(binary)])
    assert "--mls-validation-image" in raised.value.fix and "local cluster" in raised.value.problem
    assert not state.resources()
