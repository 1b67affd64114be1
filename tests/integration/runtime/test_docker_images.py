"""What the docker runtime says about images, against the real engine (no registry reachable here)."""

from __future__ import annotations

import logging
from pathlib import Path

import docker
import pytest
from docker.errors import APIError

from xmtpd_e2e.config import XMTPD_VERSION, local_images
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.runner.cleanup import run_record
from xmtpd_e2e.runtime.docker import DockerRuntime
from xmtpd_e2e.runtime.image_sets import choose_image_set, docker_image_probe

pytestmark = [pytest.mark.integration, pytest.mark.docker]

ABSENT = "xmtpd-e2e-test/never-built:absent"


def test_a_missing_image_shows_the_engines_whole_reason(tmp_path: Path) -> None:
    client = docker.from_env()
    try:
        client.images.pull(ABSENT)
    except APIError as error:
        reason = " ".join(str(error.explanation).split())
    else:
        pytest.fail(f"{ABSENT} was pulled; this test needs an image that cannot be")
    finally:
        client.close()
    with run_record(tmp_path / "home", logger=logging.getLogger("test")) as state:
        runtime = DockerRuntime(state, "e1", tmp_path / "logs", logging.getLogger("test"))
        try:
            with pytest.raises(SetupError) as raised:
                runtime._ensure_image(ABSENT)
        finally:
            runtime.close(fast=True)
        assert reason in raised.value.problem, (reason, raised.value.problem)
        assert not state.resources()


def test_auto_picks_the_local_images_setup_built_when_upstreams_cannot_be_had() -> None:
    choice = choose_image_set("auto", XMTPD_VERSION, docker_image_probe())
    # Upstream's are not present here and no registry is reachable; setup built the local ones.
    assert choice.name == "local" and choice.images == local_images(XMTPD_VERSION), choice
    assert "neither present nor pullable" in choice.reason
