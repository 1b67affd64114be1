"""The run record: every resource a run creates, written down before it exists.

Why: a run killed with SIGKILL cannot tear itself down.  Because each runtime records a
container, network, process group, database or directory here *before* creating it, ``xmtpd-e2e
cleanup`` can later remove exactly what that run left behind, without touching other runs.

This module sits below everything that creates resources (runtimes, services, the runner), so
all of them can record without importing each other.  It knows no kinds of resource itself
except the run's directories: whoever creates a kind also provides its :class:`Reclaimer`, the
code that finds and removes that kind from the record alone (a runtime lists its reclaimers in
the runtime registry), so a new runtime adds its cleanup without editing a shared list.

One JSON file per run: ``<home>/runs/<run_id>.json``.  Writes are atomic (write + rename) and
guarded by a lock, since services start from several threads.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RunState", "Resource", "Reclaimer", "new_run_id", "DIRECTORIES"]


def new_run_id() -> str:
    """Short, lower-case, DB-name-safe and unique enough for concurrent runs on one machine."""
    return "r" + secrets.token_hex(4)


@dataclass(frozen=True)
class Resource:
    kind: str
    ident: str
    details: dict[str, Any]


class RunState:
    """Recorded resources of one run (see module docstring)."""

    def __init__(self, path: Path, run_id: str, data: dict[str, Any]) -> None:
        self.path = path
        self.run_id = run_id
        self._data = data
        self._lock = threading.Lock()

    # -- construction ----------------------------------------------------------------------
    @staticmethod
    def directory(home: Path) -> Path:
        return home / "runs"

    @classmethod
    def create(cls, home: Path, run_id: str | None = None) -> RunState:
        run_id = run_id or new_run_id()
        path = cls.directory(home) / f"{run_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "run_id": run_id,
            "pid": os.getpid(),
            "started_at": time.time(),
            "resources": [],
        }
        state = cls(path, run_id, data)
        state._save()
        return state

    @classmethod
    def load(cls, path: Path) -> RunState:
        data = json.loads(path.read_text())
        return cls(path, str(data["run_id"]), data)

    @classmethod
    def all(cls, home: Path) -> list[RunState]:
        directory = cls.directory(home)
        if not directory.is_dir():
            return []
        states = []
        for path in sorted(directory.glob("*.json")):
            try:
                states.append(cls.load(path))
            except (OSError, ValueError, KeyError):
                continue
        return states

    # -- recording -------------------------------------------------------------------------
    def record(self, kind: str, ident: str, **details: Any) -> None:
        """Write down ``kind``/``ident`` (replacing an earlier entry) before creating it."""
        if not kind or not ident:
            raise ValueError(f"a resource needs a kind and an identifier (got {kind!r}, {ident!r})")
        with self._lock:
            resources = self._data["resources"]
            resources[:] = [r for r in resources if not (r["kind"] == kind and r["ident"] == ident)]
            resources.append({"kind": kind, "ident": ident, "details": details})
            self._save()

    def forget(self, kind: str, ident: str) -> None:
        with self._lock:
            resources = self._data["resources"]
            resources[:] = [r for r in resources if not (r["kind"] == kind and r["ident"] == ident)]
            self._save()

    def resources(self, kind: str | None = None) -> list[Resource]:
        with self._lock:
            return [
                Resource(r["kind"], r["ident"], dict(r.get("details", {})))
                for r in self._data["resources"]
                if kind is None or r["kind"] == kind
            ]

    # -- ownership -------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        return int(self._data["pid"])

    def owner_alive(self) -> bool:
        """True while the process that started the run still exists."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    @property
    def work_dir(self) -> Path:
        """``<home>/runs/<run_id>/``: the run's scratch space, one subdirectory per environment."""
        return self.path.parent / self.run_id

    def discard(self) -> None:
        """Forget the run: its state file and its (by then empty of resources) work directory."""
        with self._lock:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.path.unlink(missing_ok=True)
            for partial in self.path.parent.glob(f"{self.run_id}.tmp*"):
                partial.unlink(missing_ok=True)

    @classmethod
    def remove_partial_writes(cls, home: Path) -> list[Path]:
        """Delete ``<run>.tmp<pid>.<thread>`` files whose writer is gone (a write cut short by a
        kill); they never hold anything the run's ``.json`` does not, so they are only litter."""
        removed = []
        directory = cls.directory(home)
        for partial in directory.glob("*.tmp*") if directory.is_dir() else []:
            pid = partial.name.split(".tmp", 1)[1].split(".", 1)[0]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                partial.unlink(missing_ok=True)
                removed.append(partial)
        return removed

    def _save(self) -> None:
        tmp = self.path.with_name(f"{self.run_id}.tmp{os.getpid()}.{threading.get_ident()}")
        try:
            # Compact: indented JSON is encoded in Python, not C (1.2 ms against 0.2 ms for a
            # record of 100 resources), and a run saves its record at every resource it makes.
            tmp.write_text(json.dumps(self._data, separators=(",", ":")))
            os.replace(tmp, self.path)
        except BaseException:
            # An interrupt (raised in the main thread wherever it is) must not leave a partial copy.
            tmp.unlink(missing_ok=True)
            raise


@dataclass(frozen=True)
class Reclaimer:
    """How one family of resource kinds is removed, knowing only the record.

    ``remove(state, logger)`` removes every resource of ``kinds`` the record names, forgetting
    each once it is gone; it may also search the system by run id for ones created but never
    recorded.  It returns the problems (empty: all gone).  Reclaimers run by ascending ``order``:
    processes before the containers, networks and databases they use, directories last.
    """

    kinds: tuple[str, ...]
    remove: Callable[[RunState, logging.Logger], list[str]]
    order: int


def _remove_directories(state: RunState, logger: logging.Logger) -> list[str]:
    for resource in state.resources("directory"):
        shutil.rmtree(resource.ident, ignore_errors=True)
        state.forget("directory", resource.ident)
    return []


DIRECTORIES = Reclaimer(("directory",), _remove_directories, order=90)
"""The run's directories (environment work dirs): the one kind the record itself owns."""
