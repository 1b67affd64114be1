"""The libxmtp client library the users are built on: PyPI ``xmtp-bindings`` (uniffi bindings of
libxmtp's mobile crate), imported only when a scenario creates a user.

The wheel exists only for CPython 3.11 on x86_64 Linux, so the framework must import without it
and say what to install when a user is asked for.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path
from types import ModuleType

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.versions import XMTP_BINDINGS_VERSION

__all__ = ["load_bindings", "bindings_problem", "write_client_log", "stop_client_log"]

_INSTALL = (
    f"pip install 'xmtp-bindings=={XMTP_BINDINGS_VERSION}' into the framework's Python (wheels exist for "
    "CPython 3.11 on x86_64 Linux only), or run `xmtpd-e2e infra install`"
)


def bindings_problem() -> SetupError | None:
    """Why real users cannot be created in this Python (None when they can)."""
    try:
        installed = metadata.version("xmtp-bindings")
    except metadata.PackageNotFoundError:
        return SetupError(
            "real XMTP users need libxmtp's Python bindings (xmtp-bindings), not installed here", _INSTALL
        )
    if installed != XMTP_BINDINGS_VERSION:
        return SetupError(
            f"xmtp-bindings {installed} is installed; the framework is pinned to {XMTP_BINDINGS_VERSION} "
            "(another release speaks another libxmtp API)",
            _INSTALL,
        )
    return None


def load_bindings() -> ModuleType:
    """The ``xmtp_bindings.xmtpv3`` module, or a SetupError that says what to install."""
    problem = bindings_problem()
    if problem is not None:
        raise problem
    # libxmtp prints its log to stdout at INFO unless RUST_LOG says otherwise, read once when its
    # logger starts; the framework writes it to a file instead (write_client_log).
    os.environ.setdefault("RUST_LOG", "off")
    try:
        from xmtp_bindings import xmtpv3
    except (ImportError, OSError) as error:  # the wheel's libxmtpv3.so fails to load elsewhere
        raise SetupError(f"xmtp-bindings is installed but cannot be loaded: {error}", _INSTALL) from error
    return xmtpv3


def write_client_log(bindings: ModuleType, directory: Path) -> None:
    """Send libxmtp's log (INFO and up) to files in ``directory`` (one writer per process: the
    environment that made users last owns it)."""
    directory.mkdir(parents=True, exist_ok=True)
    bindings.enter_debug_writer(
        str(directory), bindings.FfiLogLevel.INFO, bindings.FfiLogRotation.NEVER, 2, bindings.FfiProcessType.MAIN
    )


def stop_client_log(bindings: ModuleType) -> None:
    bindings.exit_debug_writer()
