"""The Debian packages ``xmtpd-e2e infra install`` installs (as root, with apt-get), in one list.

Each entry says how to tell the package's program is already there (then nothing is installed)
and which part of the set-up needs it: ``base`` always, others only when that part is asked for
(``docker`` unless ``--no-docker``).  A new part adds its packages here with its own name.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SystemPackage", "DEBIAN_PACKAGES", "missing_packages"]


@dataclass(frozen=True)
class SystemPackage:
    name: str
    """The Debian package."""
    present: Callable[[], bool]
    """True when what it provides is already installed (from this package or otherwise)."""
    part: str
    """``base``, or the optional part of the set-up that needs it (``docker``)."""


def _program(name: str) -> Callable[[], bool]:
    return lambda: shutil.which(name) is not None


def _postgres_present() -> bool:
    return shutil.which("pg_ctl") is not None or bool(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))


def _docker_present() -> bool:
    if shutil.which("dockerd") is not None:
        return True
    docker = shutil.which("docker")
    return docker is not None and subprocess.run([docker, "info"], capture_output=True).returncode == 0


DEBIAN_PACKAGES: list[SystemPackage] = [
    SystemPackage("postgresql", _postgres_present, "base"),
    SystemPackage("redis-server", _program("redis-server"), "base"),
    SystemPackage("docker.io", _docker_present, "docker"),
    # The HTML report's browser test opens pages in Debian's chromium (playwright cannot download its own here).
    SystemPackage("chromium", _program("chromium"), "base"),
]


def missing_packages(parts: set[str]) -> list[str]:
    """Packages of the requested parts (``base`` is always included) whose programs are absent."""
    wanted = parts | {"base"}
    return [p.name for p in DEBIAN_PACKAGES if p.part in wanted and not p.present()]
