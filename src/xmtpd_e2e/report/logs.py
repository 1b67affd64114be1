"""Service logs on one clock: each service's own timestamp format parsed, lines interleaved.

Every service writes time differently: xmtpd (console: ``2026-11-26T10:56:29.665Z<TAB>INFO``;
JSON: a ``ts`` of Unix seconds or ISO text), toxiproxy (JSON with ``time``, whole seconds),
Redis (``13193:M 26 Nov 2026 10:56:29.379 #``), anvil (only its mined blocks carry a ``Block
Time``), and this framework's own scenario log (Python ``asctime``, local time).  A line
without a time of its own takes the time of the line before it in the same log (a multi-line
message or an anvil RPC name belongs to its neighbour); lines before the first timestamp take
the first one, so every line has a place on the shared axis and keeps its order within its log.
"""

from __future__ import annotations

import calendar
import json
import re
import time
from dataclasses import dataclass

__all__ = ["LogLine", "parse_log", "interleave", "cap_log", "MAX_LINES_PER_LOG", "MAX_LINE_CHARS"]

MAX_LINES_PER_LOG = 3000
"""Lines kept per service log; a longer log keeps its first tenth and its end."""
MAX_LINE_CHARS = 2000

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:?\d{2})?")
_REDIS = re.compile(r"^\d+:[A-Z] (\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2})\.(\d{3}) ")
_ANVIL_BLOCK = re.compile(r'Block Time: "\w{3}, (\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})"')
_MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
_LEVEL_WORDS = ("DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "PANIC", "DPANIC")
_CONSOLE_LEVEL = re.compile(r"\s(DEBUG|INFO|WARN|WARNING|ERROR|FATAL|PANIC|DPANIC)\s")
_REDIS_LEVEL = {".": "DEBUG", "-": "INFO", "*": "INFO", "#": "WARN"}
_OMITTED = re.compile(r"^\.\.\. (\d+) lines omitted")
_START_MARKER = "---- xmtpd-e2e: starting"


@dataclass(frozen=True)
class LogLine:
    time: float | None
    """Unix seconds; None only if the whole log has no timestamp."""
    service: str
    level: str
    """``DEBUG`` / ``INFO`` / ``WARN`` / ``ERROR`` (``""`` when the line does not say)."""
    text: str
    order: int
    """Position in its own log, which breaks ties and keeps a log's lines in order."""


def _iso_seconds(match: re.Match[str], local_default: bool) -> float:
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = float("0." + match.group(7)) if match.group(7) else 0.0
    zone = match.group(8)
    fields = (year, month, day, hour, minute, second, 0, 0, -1)
    if zone is None and local_default:
        return time.mktime(fields) + fraction
    base = calendar.timegm(fields) + fraction
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        base -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return base


def _json_time(data: dict[str, object]) -> float | None:
    for key in ("ts", "time", "timestamp", "T"):
        value = data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value) / (1000.0 if value > 1e11 else 1.0)
        if isinstance(value, str):
            match = _ISO.search(value)
            if match:
                return _iso_seconds(match, local_default=False)
    return None


def _line_time_and_level(line: str, scenario_log: bool) -> tuple[float | None, str]:
    stripped = line.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            level = str(data.get("level", data.get("L", ""))).upper()
            return _json_time(data), _normal_level(level)
    match = _ISO.match(stripped)
    if match:
        level_match = _CONSOLE_LEVEL.search(stripped[match.end() : match.end() + 12] + " ")
        return _iso_seconds(match, local_default=scenario_log), _normal_level(
            level_match.group(1) if level_match else ""
        )
    match = _REDIS.match(stripped)
    if match:
        day, month, year, hour, minute, second, millis = match.groups()
        seconds = calendar.timegm(
            (int(year), _MONTHS.get(month, 1), int(day), int(hour), int(minute), int(second), 0, 0, 0)
        )
        marker = stripped[match.end() : match.end() + 1]
        return seconds + int(millis) / 1000, _REDIS_LEVEL.get(marker, "")
    match = _ANVIL_BLOCK.search(stripped)
    if match:
        day, month, year, hour, minute, second, zone = match.groups()
        seconds = calendar.timegm(
            (int(year), _MONTHS.get(month, 1), int(day), int(hour), int(minute), int(second), 0, 0, 0)
        )
        sign = 1 if zone[0] == "+" else -1
        return seconds - sign * (int(zone[1:3]) * 3600 + int(zone[3:]) * 60), ""
    return None, ""


def _normal_level(level: str) -> str:
    if level not in _LEVEL_WORDS:
        return ""
    return {"WARNING": "WARN", "FATAL": "ERROR", "PANIC": "ERROR", "DPANIC": "ERROR"}.get(level, level)


def parse_log(service: str, text: str) -> list[LogLine]:
    """Every non-empty line of one service's log with its time (see module docstring)."""
    scenario_log = service == "scenario"
    raw: list[tuple[float | None, str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        line = line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " …(line cut)"
        moment, level = _line_time_and_level(line, scenario_log)
        raw.append((moment, level, line))
    # A start marker belongs to what follows it (the process it announces), any other untimed
    # line to what precedes it.
    times: list[float | None] = [m for m, _, _ in raw]
    upcoming: float | None = None
    for index in range(len(raw) - 1, -1, -1):
        if raw[index][0] is not None:
            upcoming = raw[index][0]
        elif raw[index][2].startswith(_START_MARKER):
            times[index] = upcoming
    first = next((t for t in times if t is not None), None)
    current = first
    lines: list[LogLine] = []
    for order, ((_, level, line), moment) in enumerate(zip(raw, times, strict=True)):
        if moment is not None:
            current = moment
        lines.append(LogLine(current, service, level, line, order))
    return lines


def interleave(logs: dict[str, str]) -> list[LogLine]:
    """All services' lines on one clock: by time, then by service, then by position in its log."""
    lines = [line for service, text in logs.items() for line in parse_log(service, text)]
    return sorted(
        lines, key=lambda entry: (entry.time if entry.time is not None else float("inf"), entry.service, entry.order)
    )


def cap_log(text: str, max_lines: int = MAX_LINES_PER_LOG) -> str:
    """At most ``max_lines`` lines: the first tenth and the rest from the end, with a line
    saying how many were left out between them (the report shows that line too)."""
    lines = text.splitlines()
    if len(lines) <= max_lines:
        return text
    head = max_lines // 10
    tail = max_lines - head
    omitted = len(lines) - head - tail
    return (
        "\n".join([*lines[:head], f"... {omitted} lines omitted (the log had {len(lines)}) ...", *lines[-tail:]]) + "\n"
    )


def omitted_lines(text: str) -> int:
    """How many lines :func:`cap_log` left out of this log text (0 if none)."""
    for line in text.splitlines():
        match = _OMITTED.match(line)
        if match:
            return int(match.group(1))
    return 0
