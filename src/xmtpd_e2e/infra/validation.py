"""Where an environment's MLS validation service comes from: a binary, an image, or nowhere.

libxmtp's ``mls-validation-service`` is built from libxmtp, not packaged anywhere the framework
can install from, so it is the user's to give: ``--mls-validation-bin`` /
``XMTPD_E2E_MLS_VALIDATION_BIN`` (a build; on docker and kubernetes the input of a local image),
``--mls-validation-image`` (docker and kubernetes: e.g. upstream's
``ghcr.io/xmtp/mls-validation-service``), or, when neither is given, a binary found in
``$XMTPD_E2E_HOME/bin`` or on PATH.  Without any of them environments run without the service
(nodes get an address nothing answers on) and scenarios that need it are refused before they
start (:func:`validation_unavailable`).  A path that was given but is unusable is an error at
once, never a silent fall-back to running without it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from xmtpd_e2e.config import LOCAL_IMAGE_PREFIX, RunConfig
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.binaries import VALIDATION_BIN_HINT, VALIDATION_BIN_VARIABLE
from xmtpd_e2e.versions import LOCAL_IMAGE_REVISION

__all__ = [
    "VALIDATION_PROGRAM",
    "UPSTREAM_VALIDATION_IMAGE",
    "local_validation_image",
    "ValidationSource",
    "check_validation_bin",
    "find_validation_bin",
    "validation_source",
    "validation_unavailable",
]

VALIDATION_PROGRAM = "mls-validation-service"
UPSTREAM_VALIDATION_IMAGE = "ghcr.io/xmtp/mls-validation-service"


def local_validation_image(binary: Path) -> str:
    """The tag of the image built from ``binary``: named by the binary's content, so runs with
    different builds (or a test's impostor) never replace each other's image."""
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:12]
    return f"{LOCAL_IMAGE_PREFIX}/mls-validation-service:{digest}-{LOCAL_IMAGE_REVISION}"


@dataclass(frozen=True)
class ValidationSource:
    """What an environment runs the validation service from."""

    binary: Path | None
    """The executable (the local runtime runs it; image runtimes build :attr:`image` from it)."""
    image: str | None
    """The image docker and kubernetes run (None on the local runtime)."""
    builds_image: bool = False
    """True when :attr:`image` is the framework's own, built from :attr:`binary`."""


def check_validation_bin(path: Path, origin: str) -> Path:
    """``path`` if it is an executable file; else a SetupError naming ``origin`` (flag or variable)."""
    what = f"the MLS validation service binary {path} (from {origin})"
    if not path.exists():
        raise SetupError(f"{what} does not exist", VALIDATION_BIN_HINT)
    if not path.is_file():
        raise SetupError(f"{what} is not a file", VALIDATION_BIN_HINT)
    if not os.access(path, os.X_OK):
        raise SetupError(f"{what} is not executable", f"chmod +x {path}, or {VALIDATION_BIN_HINT}")
    return path.absolute()


def find_validation_bin(config: RunConfig) -> Path | None:
    """The binary the user gave (checked), else one in ``$XMTPD_E2E_HOME/bin`` or on PATH, else None."""
    if config.mls_validation_bin is not None:
        return check_validation_bin(config.mls_validation_bin, "--mls-validation-bin")
    configured = os.environ.get(VALIDATION_BIN_VARIABLE)
    if configured:
        return check_validation_bin(Path(configured), VALIDATION_BIN_VARIABLE)
    installed = config.home / "bin" / VALIDATION_PROGRAM
    if installed.is_file() and os.access(installed, os.X_OK):
        return installed
    found = shutil.which(VALIDATION_PROGRAM)
    return Path(found) if found else None


def validation_source(config: RunConfig, *, runs_images: bool) -> ValidationSource | None:
    """What this run's environments start the service from, or None when nothing is configured.
    Raises SetupError for a binary that was given but cannot be used."""
    binary = find_validation_bin(config)
    if runs_images and config.mls_validation_image:
        return ValidationSource(binary, config.mls_validation_image)
    if binary is None:
        return None
    if not runs_images:
        return ValidationSource(binary, None)
    return ValidationSource(binary, local_validation_image(binary), builds_image=True)


def validation_unavailable(config: RunConfig, *, runs_images: bool) -> SetupError | None:
    """Why environments of this run would have no validation service, with the fix; None if they have one."""
    try:
        if validation_source(config, runs_images=runs_images) is not None:
            return None
    except SetupError as problem:
        return problem
    given_image = (
        " (--mls-validation-image applies to docker and kubernetes only)" if config.mls_validation_image else ""
    )
    fix = VALIDATION_BIN_HINT
    if runs_images:
        fix += f"; or pass --mls-validation-image (e.g. upstream's {UPSTREAM_VALIDATION_IMAGE}:<tag>)"
    return SetupError(
        f"no MLS validation service is configured{given_image}: looked for {VALIDATION_BIN_VARIABLE}, "
        f"{config.home / 'bin' / VALIDATION_PROGRAM} and {VALIDATION_PROGRAM} on PATH",
        fix,
    )
