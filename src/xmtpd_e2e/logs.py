"""Logging: one named logger per scenario and per component, console or JSON lines.

Logs go to stderr so stdout carries only results (``--output-format json`` can be piped).
Each scenario's records (including its environment's and handles' child loggers) are also
written to a file that becomes part of its artifacts.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["configure_logging", "scenario_log_file", "JsonFormatter", "LEVELS"]

LEVELS = ("debug", "info", "warn", "error")
_CONSOLE = "%(asctime)s %(levelname)-5s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the keys xmtpd uses (time, level, logger, message)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str = "info", encoding: str = "console") -> None:
    numeric = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}[level]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if encoding == "json" else logging.Formatter(_CONSOLE, "%H:%M:%S"))
    handler.setLevel(numeric)
    root = logging.getLogger("xmtpd_e2e")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)  # files get everything; the console handler filters
    root.propagate = False
    for noisy in ("web3", "urllib3", "docker"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def scenario_log_file(logger: logging.Logger, path: Path) -> Iterator[Path]:
    """Copy every record of ``logger`` and its children (at DEBUG) into ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(_CONSOLE))
    logger.addHandler(handler)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        handler.close()
