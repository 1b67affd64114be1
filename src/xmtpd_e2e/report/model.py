"""What the HTML report shows, read from a results JSON (and the artifacts it points to).

The page can be rendered long after the run (``xmtpd-e2e report RESULTS.json --html``), so
everything comes from the results: each scenario's ``timeline`` (phases, faults, service
actions, progress, checks), ``observations`` (node samples, publish rate and failures) and its
logs, taken from ``service_logs`` when the run kept them for the report, else from the
``logs/*.log`` and ``scenario.log`` artifact files when those still exist.
"""

from __future__ import annotations

import bisect
import math
from datetime import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xmtpd_e2e.timeline import TimelineEvent

__all__ = [
    "RunView",
    "ScenarioView",
    "RecoveryView",
    "NodeSeries",
    "FellBehind",
    "load_run",
    "LAG_THRESHOLD",
    "ORDINARY_DELAY",
]

LAG_THRESHOLD = 10
"""Envelopes behind before the page calls a node "fell behind" (at the least; see ``ORDINARY_DELAY``)."""

ORDINARY_DELAY = 3.0
"""Seconds of the cluster's intake a node may trail by without having "fell behind".

Under steady traffic every follower trails the node it syncs from by what arrived while an
envelope travels, and the sampler reads the nodes one after another, so at 25 envelopes a
second a healthy node reads tens of envelopes behind.  Lag counts only above what the cluster
took in over this many seconds (and above ``LAG_THRESHOLD``)."""


@dataclass
class NodeSeries:
    """One node's samples: parallel lists (Unix time, envelopes stored, envelopes behind)."""

    alias: str
    times: list[float] = field(default_factory=list)
    envelopes: list[int] = field(default_factory=list)
    lag: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class FellBehind:
    """A node that lagged: how far, when, which faults were active as it began to fall behind
    (``faults``) and which began later while it was behind (``overlapping``), and whether it
    caught up."""

    alias: str
    max_lag: int
    at: float
    first: float
    last: float
    caught_up: bool
    final_lag: int
    faults: tuple[str, ...]
    overlapping: tuple[str, ...] = ()

    def sentence(self, clock: Any) -> str:
        text = f"{self.alias} fell behind by up to {self.max_lag} envelopes at {clock(self.at)}"
        if self.faults:
            text += f" during {', '.join(self.faults)} (behind from {clock(self.first)})"
        else:
            text += f"; it began at {clock(self.first)} with no fault or stopped service active"
            if self.overlapping:
                text += f" (then {', '.join(self.overlapping)})"
        if self.caught_up:
            return text + f"; caught up by {clock(self.last)}"
        return text + f"; still {self.final_lag} behind at the end"


@dataclass(frozen=True)
class RecoveryView:
    """One healed fault's recovery (results ``recoveries``): seconds from the heal until every
    node held what was acknowledged by then (until the end when it never did), and until every
    read node served it (None: no reader, or not by the end)."""

    kind: str
    target: str
    healed_at: float
    acknowledged: int
    nodes_seconds: float
    readers_seconds: float | None
    recovered: bool
    nodes_converged: bool

    @property
    def until(self) -> float:
        return self.healed_at + self.nodes_seconds

    def describe(self) -> str:
        """The seconds first: a narrow bar shows the start of it."""
        held = f"the {self.acknowledged} acknowledged envelopes"
        if self.nodes_converged:
            text = f"{self.nodes_seconds:.1f} s after {self.kind} on {self.target} healed, every node held {held}"
        else:
            text = f"not recovered {self.nodes_seconds:.1f} s after {self.kind} on {self.target} healed (the end): not every node held {held}"
        if self.readers_seconds is not None:
            return text + f"; readers caught up after {self.readers_seconds:.1f} s"
        return text + ("; readers not caught up by the end" if self.nodes_converged and not self.recovered else "")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecoveryView:
        readers = data.get("readers_seconds")
        return cls(
            str(data["kind"]),
            str(data["target"]),
            float(data["healed_at"]),
            int(data.get("acknowledged") or 0),
            float(data["nodes_seconds"]),
            None if readers is None else float(readers),
            bool(data["recovered"]),
            bool(data.get("nodes_converged", data["recovered"])),
        )


@dataclass
class ScenarioView:
    name: str
    status: str
    duration: float
    started_at: float
    typical_seconds: float | None
    error: str | None
    traceback: str | None
    invariant_violations: list[str]
    teardown_error: str | None
    artifacts: list[str]
    log_file: str | None
    environment: dict[str, Any]
    events: list[TimelineEvent]
    series: dict[str, NodeSeries]
    publishing: dict[str, Any]
    logs: dict[str, str]
    logs_source: str
    """Where the logs came from, said on the page (``results``, ``artifacts`` or why none)."""
    sample_interval: float = 1.0
    users: dict[str, Any] = field(default_factory=dict)
    """Real XMTP users' lanes by name (observations ``users``): node, sent, received, failed."""
    recoveries: list[RecoveryView] = field(default_factory=list)
    """Each healed fault's recovery time (results ``recoveries``)."""

    @property
    def start(self) -> float:
        moments = [self.started_at] + [e.start for e in self.events]
        moments += [s.times[0] for s in self.series.values() if s.times]
        return min(moments)

    @property
    def end(self) -> float:
        moments = [self.started_at + self.duration] + [e.end or e.start for e in self.events]
        moments += [s.times[-1] for s in self.series.values() if s.times]
        return max(moments)

    def faults(self) -> list[TimelineEvent]:
        """Every fault span, once: explore records its own span for each planned fault
        (``explore=True``) next to the one the fault itself records; the plan's is left out
        when the fault's own is there (it names the groups and shows the gaps)."""
        spans = [e for e in self.events if e.kind == "fault"]
        own = [e for e in spans if not e.params.get("explore")]

        def recorded_again(planned: TimelineEvent) -> bool:
            return any(
                o.name == planned.name and abs(o.start - planned.start) < 2 and set(planned.targets) <= set(o.targets)
                for o in own
            )

        return [e for e in spans if not (e.params.get("explore") and recorded_again(e))]

    def fault_label(self, event: TimelineEvent) -> str:
        """``partition {node-300} | {node-100, node-200}`` where the fault recorded how to name
        its parts (its ``label``), else the kind and every service it acts on."""
        label = event.params.get("label")
        if label:
            return f"{event.name} {label}"
        return f"{event.name} {', '.join(event.targets)}".strip()

    def in_force(self, event: TimelineEvent, end: float | None = None) -> list[tuple[float, float]]:
        """The stretches a fault was really in force: its span less its recorded gaps (a restart
        before it was applied again, a failed re-application; ``params["gaps"]``)."""
        stop = event.end if event.end is not None else (self.end if end is None else end)
        held: list[tuple[float, float]] = []
        cursor = event.start
        for gap in sorted(event.params.get("gaps") or [], key=lambda g: float(g[0])):
            gap_start = max(float(gap[0]), cursor)
            gap_end = stop if gap[1] is None else min(float(gap[1]), stop)
            if gap_start > cursor:
                held.append((cursor, gap_start))
            cursor = max(cursor, gap_end)
        if cursor < stop:
            held.append((cursor, stop))
        return held

    @property
    def sampled(self) -> bool:
        """Whether any node was sampled enough to draw a line (twice): a scenario shorter than
        two sampling intervals may not be, and then nothing is known about its lag."""
        return any(len(series.times) >= 2 for series in self.series.values())

    def down_windows(self) -> list[tuple[str, float, float]]:
        """(service, from, to) while a service was stopped or killed, from its service events."""
        windows: list[tuple[str, float, float]] = []
        down: dict[str, tuple[str, float]] = {}
        for event in self.events:
            if event.kind != "service":
                continue
            for target in event.targets:
                if event.name in ("stop", "kill", "pause") and target not in down:
                    down[target] = (event.name, event.start)
                elif event.name in ("start", "restart", "resume") and target in down:
                    how, since = down.pop(target)
                    windows.append(
                        (f"{target} {'killed' if how == 'kill' else how + 'ped'}", since, event.end or event.start)
                    )
        windows += [
            (f"{target} {'killed' if how == 'kill' else how + 'ped'}", since, self.end)
            for target, (how, since) in down.items()
        ]
        return windows

    def most_envelopes(self, at: float) -> int:
        """The most envelopes any node stored by time ``at`` (each node's latest sample then)."""
        best = 0
        for series in self.series.values():
            index = bisect.bisect_right(series.times, at) - 1
            if index >= 0:
                best = max(best, series.envelopes[index])
        return best

    def intake(self, at: float, seconds: float) -> int:
        """Envelopes the cluster took in over the ``seconds`` before ``at`` (from the most
        advanced node's count; early in the run, the rate so far times ``seconds``)."""
        first = min((s.times[0] for s in self.series.values() if s.times), default=at)
        since = max(at - seconds, first)
        if at <= since:
            return 0
        return round((self.most_envelopes(at) - self.most_envelopes(since)) * seconds / (at - since))

    def fell_behind(self, threshold: int = LAG_THRESHOLD, ordinary_delay: float = ORDINARY_DELAY) -> list[FellBehind]:
        """Nodes whose lag stayed above ordinary for two samples in a row, worst first.

        Ordinary at a moment is ``threshold`` envelopes or what the cluster took in over the
        ``ordinary_delay`` seconds before it, whichever is more: a healthy follower under load
        trails by that much.  Two samples, because the nodes are read one after another while
        traffic flows: a single reading a few envelopes apart is the sampler's own skew.
        """
        found = []
        for alias, series in self.series.items():
            lags = series.lag
            over = [
                lag >= max(threshold, self.intake(t, ordinary_delay)) for t, lag in zip(series.times, lags, strict=True)
            ]
            sustained = [i for i in range(1, len(lags)) if over[i] and over[i - 1]]
            if not sustained:
                continue
            peak = max(lags)
            at = series.times[lags.index(peak)]
            # Behind: samples over ordinary next to another one (a lone reading is skew).
            paired = {j for i in sustained for j in (i - 1, i)}
            behind = [series.times[i] for i in sorted(paired)]
            caught_up = not over[-1]
            last = behind[-1]
            if caught_up:
                after = [t for t in series.times if t > last]
                last = after[0] if after else last
            # Active when it began to fall behind.  Lag shows after its cause: it must first grow
            # past the ordinary delay, then be sampled twice.
            onset = (behind[0] - ordinary_delay - 2 * self.sample_interval, behind[0])
            windows = [(self.fault_label(f), f.start, f.end if f.end is not None else self.end) for f in self.faults()]
            windows += self.down_windows()
            causes = [label for label, since, until in windows if since <= onset[1] and until >= onset[0]]
            later = [
                label
                for label, since, until in windows
                if label not in causes and since <= behind[-1] and until >= behind[0]
            ]
            found.append(
                FellBehind(
                    alias,
                    peak,
                    at,
                    behind[0],
                    last,
                    caught_up,
                    lags[-1],
                    tuple(dict.fromkeys(causes)),
                    tuple(dict.fromkeys(later)),
                )
            )
        return sorted(found, key=lambda f: -f.max_lag)


@dataclass
class RunView:
    run_id: str
    started_at: str
    duration: float
    summary: dict[str, int]
    scenarios: list[ScenarioView]
    title: str = "xmtpd-e2e run"


def _series(samples: Mapping[str, Any]) -> dict[str, NodeSeries]:
    result: dict[str, NodeSeries] = {}
    for alias, rows in sorted((samples.get("nodes") or {}).items(), key=lambda item: _node_order(item[0])):
        series = NodeSeries(alias)
        for row in rows:
            if len(row) >= 3 and all(isinstance(v, (int, float)) and math.isfinite(v) for v in row[:3]):
                series.times.append(float(row[0]))
                series.envelopes.append(int(row[1]))
                series.lag.append(int(row[2]))
        result[alias] = series
    return result


def _node_order(alias: str) -> tuple[int, str]:
    digits = "".join(c for c in alias if c.isdigit())
    return (int(digits) if digits else 0, alias)


def _logs(data: Mapping[str, Any]) -> tuple[dict[str, str], str]:
    kept = data.get("service_logs") or {}
    if kept:
        return {str(k): str(v) for k, v in kept.items()}, "kept in the results"
    logs: dict[str, str] = {}
    missing = 0
    candidates = [Path(p) for p in data.get("artifacts") or []]
    for path in candidates:
        if path.parent.name == "logs" and path.suffix == ".log":
            name = path.stem
        elif path.name == "scenario.log":
            name = "scenario"
        else:
            continue
        try:
            logs[name] = path.read_text(errors="replace")
        except OSError:
            missing += 1
    if logs:
        return logs, "read from the artifacts" + (f" ({missing} log file(s) no longer exist)" if missing else "")
    if missing:
        return {}, "the artifact log files no longer exist"
    if data.get("status") == "PASS":
        return {}, (
            "not kept: the scenario passed and neither --html at run time nor --artifacts-always asked for its logs"
        )
    return {}, "no logs were recorded for this scenario"


def _scenario(data: Mapping[str, Any], typical: Mapping[str, float]) -> ScenarioView:
    started = data.get("started_at")
    started_at = datetime.fromisoformat(started).timestamp() if isinstance(started, str) else float(started or 0.0)
    observations = data.get("observations") or {}
    logs, source = _logs(data)
    events = []
    for item in data.get("timeline") or []:
        try:
            events.append(TimelineEvent.from_dict(item))
        except (KeyError, TypeError, ValueError):
            continue
    name = str(data.get("name", "?"))
    typical_seconds = data.get("typical_seconds", typical.get(name))
    return ScenarioView(
        name=name,
        status=str(data.get("status", "?")),
        duration=float(data.get("duration_seconds") or 0.0),
        started_at=started_at,
        typical_seconds=float(typical_seconds) if typical_seconds else None,
        error=data.get("error"),
        traceback=data.get("traceback"),
        invariant_violations=list(data.get("invariant_violations") or []),
        teardown_error=data.get("teardown_error"),
        artifacts=list(data.get("artifacts") or []),
        log_file=data.get("log_file"),
        environment=dict(data.get("environment") or {}),
        events=sorted(events, key=lambda e: (e.start, e.id)),
        series=_series(observations.get("samples") or {}),
        publishing=dict(observations.get("publishing") or {}),
        logs=logs,
        logs_source=source,
        sample_interval=float((observations.get("samples") or {}).get("interval_seconds") or 1.0),
        users=dict(observations.get("users") or {}),
        recoveries=_recoveries(data.get("recoveries") or []),
    )


def _recoveries(items: list[Any]) -> list[RecoveryView]:
    views = []
    for item in items:
        try:
            views.append(RecoveryView.from_dict(item))
        except (KeyError, TypeError, ValueError):  # a malformed entry is left out, not the page
            continue
    return views


def load_run(
    data: Mapping[str, Any], *, title: str | None = None, typical: Mapping[str, float] | None = None
) -> RunView:
    """A results dict (``xmtpd-e2e run --output-format json``) as the page's model.

    ``typical`` gives typical durations by scenario name for results that do not carry them.
    """
    scenarios = [_scenario(s, typical or {}) for s in data.get("scenarios") or []]
    return RunView(
        run_id=str(data.get("run_id", "?")),
        started_at=str(data.get("started_at", "")),
        duration=float(data.get("duration_seconds") or 0.0),
        summary={str(k): int(v) for k, v in (data.get("summary") or {}).items()},
        scenarios=scenarios,
        title=title or "xmtpd-e2e run",
    )
