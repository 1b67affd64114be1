"""Where the project's Postgres cluster keeps its data: in memory when the machine has a tmpfs."""

from __future__ import annotations

from pathlib import Path

import pytest

from xmtpd_e2e.infra import postgres_cluster
from xmtpd_e2e.infra.postgres_cluster import DIRECTORY_VARIABLE, PostgresCluster


def test_the_cluster_lives_in_memory_when_dev_shm_is_a_tmpfs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DIRECTORY_VARIABLE, raising=False)
    monkeypatch.setattr(postgres_cluster, "_is_tmpfs", lambda path: path == Path("/dev/shm"))
    monkeypatch.setattr(postgres_cluster, "_free_bytes", lambda path: 8 << 30)
    assert PostgresCluster.default().directory.parent.parent == Path("/dev/shm")


def test_a_small_tmpfs_such_as_a_containers_64_mb_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DIRECTORY_VARIABLE, raising=False)
    monkeypatch.setattr(postgres_cluster, "_is_tmpfs", lambda path: True)
    monkeypatch.setattr(postgres_cluster, "_free_bytes", lambda path: 64 << 20)
    assert PostgresCluster.default().directory == PostgresCluster.earlier().directory


def test_without_a_tmpfs_it_stays_where_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DIRECTORY_VARIABLE, raising=False)
    monkeypatch.setattr(postgres_cluster, "_is_tmpfs", lambda path: False)
    assert PostgresCluster.default().directory == PostgresCluster.earlier().directory


def test_a_configured_directory_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DIRECTORY_VARIABLE, str(tmp_path / "pg"))
    assert PostgresCluster.default().directory == tmp_path / "pg"


def test_tmpfs_is_read_from_the_mount_table() -> None:
    mounts = Path("/proc/self/mounts").read_text()
    expected = any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in mounts.splitlines())
    assert postgres_cluster._is_tmpfs(Path("/dev/shm")) is expected
    assert postgres_cluster._is_tmpfs(Path("/no/such/mount")) is False
