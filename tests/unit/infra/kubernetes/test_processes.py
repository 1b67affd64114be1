"""A daemon's readiness is judged by a connection, never by its socket file."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from xmtpd_e2e.infra.kubernetes.processes import unix_socket_accepts


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # Unix socket paths are limited to ~107 bytes; pytest's tmp_path can be longer.
    path = Path(tempfile.mkdtemp(prefix="xe2e-", dir="/tmp"))
    yield path
    shutil.rmtree(path)


def test_a_listening_socket_accepts(short_dir: Path) -> None:
    path = short_dir / "live.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        assert unix_socket_accepts(path)


def test_a_socket_file_left_by_a_dead_daemon_does_not(short_dir: Path) -> None:
    path = short_dir / "stale.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    server.close()  # the daemon is gone; its socket file stays, as after a SIGKILL
    assert path.exists()
    assert not unix_socket_accepts(path)


def test_no_socket_file_does_not(short_dir: Path) -> None:
    assert not unix_socket_accepts(short_dir / "absent.sock")
