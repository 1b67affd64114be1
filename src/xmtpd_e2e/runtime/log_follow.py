"""Watching a growing log file for a readiness line.

Both runtimes write each service's output to a file; readiness is "this line appeared after the
service (re)started".  Reading only from a remembered offset keeps the check cheap even when a
node has logged megabytes before a restart.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["LogCursor", "tail_lines"]


class LogCursor:
    """Reads a log file from a fixed offset onward, looking for a substring."""

    def __init__(self, path: Path, offset: int) -> None:
        self._path = path
        self._offset = offset
        self._carry = b""

    def contains(self, needle: str) -> bool:
        """True once ``needle`` appeared in text written after the starting offset."""
        target = needle.encode()
        try:
            with self._path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return False
        self._offset += len(chunk)
        window = self._carry + chunk
        if target in window:
            return True
        self._carry = window[-len(target) :] if len(target) > 1 else b""
        return False


def tail_lines(path: Path, count: int = 40) -> str:
    """The last ``count`` lines of a file (for error messages), or '' if it does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(lines[-count:])
