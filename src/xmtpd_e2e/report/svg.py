"""Charts as inline SVG, drawn here: the report must open with no network and no library.

:func:`scenario_timeline` draws one scenario on one time axis: phases, fault windows (shaded
across every lane and chart, so a lag spike sits visibly inside the fault that caused it),
service actions, long waits, checks, then each node's envelope count and replication lag, and
the publish rate with failed requests.  :func:`bar_chart` and :func:`line_chart` are the plain
charts ``bench/RESULTS.md`` uses.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from xmtpd_e2e.report.model import ScenarioView
from xmtpd_e2e.timeline import TimelineEvent

__all__ = [
    "Svg",
    "scenario_timeline",
    "bar_chart",
    "line_chart",
    "PALETTE",
    "TIMELINE_WIDTH",
    "PLOT_LEFT",
    "PLOT_RIGHT",
]

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728")
TIMELINE_WIDTH = 1200
PLOT_LEFT = 150
"""Left edge of the plotting area (lane labels live left of it)."""
PLOT_RIGHT = TIMELINE_WIDTH - 24
_FAULT = "#d62728"
_ROW = 16
_FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


class Svg:
    """A list of SVG elements with a fixed-width viewBox; the height grows as lanes are added."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.parts: list[str] = []
        self.height = 0.0

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        fill: str,
        title: str | None = None,
        opacity: float | None = None,
        cls: str | None = None,
        stroke: str | None = None,
        data: dict[str, str] | None = None,
    ) -> None:
        attrs = f'x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.8):.1f}" height="{h:.1f}" fill="{fill}"'
        if opacity is not None:
            attrs += f' fill-opacity="{opacity}"'
        if stroke:
            attrs += f' stroke="{stroke}" stroke-width="1"'
        if cls:
            attrs += f' class="{cls}"'
        for key, value in (data or {}).items():
            attrs += f' data-{key}="{_esc(value)}"'
        self._element("rect", attrs, title)

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        *,
        stroke: str,
        width: float = 1.0,
        dash: str | None = None,
        cls: str | None = None,
    ) -> None:
        attrs = f'x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" stroke-width="{width}"'
        if dash:
            attrs += f' stroke-dasharray="{dash}"'
        if cls:
            attrs += f' class="{cls}"'
        self.parts.append(f"<line {attrs}/>")

    def polyline(
        self,
        points: Sequence[tuple[float, float]],
        *,
        stroke: str,
        width: float = 1.6,
        title: str | None = None,
        cls: str | None = None,
    ) -> None:
        if not points:
            return
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        attrs = f'points="{coords}" fill="none" stroke="{stroke}" stroke-width="{width}" stroke-linejoin="round"'
        if cls:
            attrs += f' class="{cls}"'
        self._element("polyline", attrs, title)

    def circle(self, x: float, y: float, r: float, *, fill: str, title: str | None = None) -> None:
        self._element("circle", f'cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}"', title)

    def path(
        self, d: str, *, fill: str = "none", stroke: str = "none", width: float = 1.0, title: str | None = None
    ) -> None:
        self._element("path", f'd="{d}" fill="{fill}" stroke="{stroke}" stroke-width="{width}"', title)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 11,
        fill: str = "#222",
        anchor: str = "start",
        weight: str = "normal",
        cls: str | None = None,
    ) -> None:
        attrs = (
            f'x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}" font-weight="{weight}"'
        )
        if cls:
            attrs += f' class="{cls}"'
        self.parts.append(f"<text {attrs}>{_esc(text)}</text>")

    def _element(self, tag: str, attrs: str, title: str | None) -> None:
        if title:
            self.parts.append(f"<{tag} {attrs}><title>{_esc(title)}</title></{tag}>")
        else:
            self.parts.append(f"<{tag} {attrs}/>")

    def render(self, *, cls: str = "", data: dict[str, str] | None = None, label: str = "", sized: bool = False) -> str:
        """The svg element as text; ``sized`` gives it a width and height of its own (a file viewed alone)."""
        attrs = "".join(f' data-{k}="{_esc(v)}"' for k, v in (data or {}).items())
        if sized:
            attrs += f' width="{self.width}" height="{self.height:.0f}"'

        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height:.0f}" '
            f'class="{cls}" role="img" aria-label="{_esc(label)}" style="{_FONT}"{attrs}>'
            + "".join(self.parts)
            + "</svg>"
        )


# ==============================================================================================
# the scenario timeline
# ==============================================================================================
def _clock(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%H:%M:%S")


def _nice_step(span: float, target_ticks: int) -> float:
    raw = span / max(1, target_ticks)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def _time_step(span: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if span / step <= 12:
            return float(step)
    return 7200.0


def _pack(
    events: Sequence[TimelineEvent], end_of: Callable[[TimelineEvent], float], gap: float
) -> list[list[TimelineEvent]]:
    """Greedy rows: each event in the first row where it does not overlap the last one."""
    rows: list[list[TimelineEvent]] = []
    ends: list[float] = []
    for event in events:
        for index, row_end in enumerate(ends):
            if event.start >= row_end + gap:
                rows[index].append(event)
                ends[index] = end_of(event)
                break
        else:
            rows.append([event])
            ends.append(end_of(event))
    return rows


def scenario_timeline(view: ScenarioView, colors: dict[str, str]) -> str:
    """The whole timeline of one scenario as one ``<svg>`` (see module docstring).

    The root carries ``data-t0``/``data-t1`` (Unix seconds at the plot's left and right edges)
    and ``data-left``/``data-right`` (their x in viewBox units) so the page's script can turn
    a click into a moment in the logs.
    """
    drawing = _TimelineDrawing(view, colors)
    drawing.axis()
    drawing.span_bars([e for e in view.events if e.kind == "phase"], "phases", _PHASE_STYLE, lambda e: e.name)
    drawing.faults_top = drawing.y
    drawing.fault_bars()
    drawing.recovery_bars()
    drawing.service_lanes()
    drawing.waits()
    drawing.checks()
    drawing.node_charts()
    drawing.publishing()
    drawing.user_lanes()
    return drawing.finish()


@dataclass(frozen=True)
class _BarStyle:
    fill: str
    opacity: float
    text_fill: str
    cls: str


_PHASE_STYLE = _BarStyle("#9aa7b8", 0.55, "#112", "phase")
_FAULT_STYLE = _BarStyle(_FAULT, 0.75, "#fff", "fault")
_WAIT_STYLE = _BarStyle("#6baed6", 0.6, "#012", "wait")
_RECOVERY_STYLE = _BarStyle("#e6a23c", 0.7, "#210", "recovery")


class _TimelineDrawing:
    """One scenario's timeline, drawn lane by lane from the top (``y`` is the next free row)."""

    def __init__(self, view: ScenarioView, colors: dict[str, str]) -> None:
        self.view, self.colors = view, colors
        self.t0, self.t1 = view.start, max(view.end, view.start + 1)
        self.width = PLOT_RIGHT - PLOT_LEFT
        self.per_second = self.width / (self.t1 - self.t0)
        self.svg = Svg(TIMELINE_WIDTH)
        self.y = 4.0
        self.top_of_lanes = self.y
        self.faults_top = self.y

    def x(self, moment: float) -> float:
        return PLOT_LEFT + (min(max(moment, self.t0), self.t1) - self.t0) * self.per_second

    def end_of(self, event: TimelineEvent) -> float:
        return event.end if event.end is not None else self.t1

    def lane_label(self, text: str, y_top: float, height: float, *, weight: str = "normal") -> None:
        self.svg.text(PLOT_LEFT - 8, y_top + height / 2 + 4, text, size=11, anchor="end", weight=weight)

    def axis(self) -> None:
        step = _time_step(self.t1 - self.t0)
        axis_y = self.y + 14
        tick = math.ceil(self.t0 / step) * step
        while tick <= self.t1 + 1e-6:
            self.svg.text(self.x(tick), axis_y, _clock(tick), size=10, fill="#555", anchor="middle")
            tick += step
        self.y = axis_y + 6
        self.top_of_lanes = self.y

    def span_bars(
        self,
        events: list[TimelineEvent],
        label: str,
        style: _BarStyle,
        describe: Callable[[TimelineEvent], str],
        pieces: Callable[[TimelineEvent], list[tuple[float, float]]] | None = None,
    ) -> None:
        """One bar per event, packed in rows; ``pieces`` splits a bar into the stretches it held."""
        if not events:
            return
        rows = _pack(events, self.end_of, 2 / self.per_second)
        self.lane_label(label, self.y, len(rows) * _ROW, weight="bold")
        for row in rows:
            for event in row:
                held = pieces(event) if pieces is not None else [(event.start, self.end_of(event))]
                for start, stop in held:
                    self._bar(event, start, stop, style, describe(event))
                self._gaps(event, held, style)
            self.y += _ROW
        self.y += 4

    def _bar(self, event: TimelineEvent, start: float, stop: float, style: _BarStyle, text: str) -> None:
        left, right = self.x(start), self.x(stop)
        open_note = " (never ended)" if event.end is None and stop >= self.end_of(event) else ""
        title = f"{text}: {_clock(start)} – {_clock(stop)}{open_note}"
        self.svg.rect(
            left,
            self.y + 1,
            right - left,
            _ROW - 3,
            fill=style.fill,
            opacity=style.opacity,
            title=title,
            cls=style.cls,
            data={"t": f"{start:.3f}"},
        )
        if right - left > 30:
            self.svg.text(left + 3, self.y + _ROW - 5, _fit(text, right - left - 6), size=10, fill=style.text_fill)

    def _gaps(self, event: TimelineEvent, held: list[tuple[float, float]], style: _BarStyle) -> None:
        """The stretches between held pieces: an outline, titled with why the fault was not in force."""
        for (_, gap_start), (gap_end, _) in zip(held, held[1:], strict=False):
            left, right = self.x(gap_start), self.x(gap_end)
            self.svg.rect(
                left,
                self.y + 1,
                max(right - left, 1),
                _ROW - 3,
                fill="none",
                stroke=style.fill,
                cls="fault-gap",
                title=f"{self.view.fault_label(event)} NOT in force {_clock(gap_start)} – {_clock(gap_end)} "
                "(its service restarted before it was applied again, or applying it failed)",
            )

    def fault_bars(self) -> None:
        self.span_bars(self.view.faults(), "faults", _FAULT_STYLE, self.view.fault_label, self._in_force)

    def recovery_bars(self) -> None:
        """Under the faults: from each heal until every node held what was acknowledged by it
        (until the end when it never did); the bar's title says how long it took."""
        recoveries = self.view.recoveries
        least = 2 / self.per_second  # a sub-second recovery stays visible
        spans = [
            TimelineEvent(i, "recovery", r.kind, (r.target,), {}, r.healed_at, max(r.until, r.healed_at + least))
            for i, r in enumerate(recoveries)
        ]
        self.span_bars(spans, "recovery", _RECOVERY_STYLE, lambda e: recoveries[e.id].describe())

    def _in_force(self, event: TimelineEvent) -> list[tuple[float, float]]:
        return self.view.in_force(event, self.t1)

    def service_lanes(self) -> None:
        """One row per service with actions: stops and kills marked, down stretches, starts."""
        events = [e for e in self.view.events if e.kind == "service"]
        targets = sorted({t for e in events for t in e.targets}, key=_service_order)
        if not targets:
            return
        self.lane_label("services", self.y, _ROW, weight="bold")
        self.y += _ROW
        for target in targets:
            self.lane_label(target, self.y, _ROW)
            self._service_row(target, [e for e in events if target in e.targets])
            self.y += _ROW
        self.y += 4

    def _service_row(self, target: str, events: list[TimelineEvent]) -> None:
        down_since: float | None = None
        for event in events:
            cx = self.x(event.start)
            if event.name in ("stop", "kill", "pause"):
                down_since = event.start if down_since is None else down_since
                self._down_mark(target, event)
            elif event.name in ("start", "restart", "resume"):
                if down_since is not None:
                    self._down_stretch(target, down_since, event.start)
                    down_since = None
                self._start_bar(target, event)
            else:
                self.svg.circle(
                    cx, self.y + _ROW / 2, 3, fill="#555", title=f"{event.name} {target} at {_clock(event.start)}"
                )
        if down_since is not None:
            self._down_stretch(target, down_since, None)

    def _down_mark(self, target: str, event: TimelineEvent) -> None:
        cx = self.x(event.start)
        mark = "✕" if event.name == "kill" else ("⏸" if event.name == "pause" else "■")
        self.svg.text(cx, self.y + _ROW - 4, mark, size=11, fill="#b00", anchor="middle")
        self.svg.rect(
            cx - 5,
            self.y,
            10,
            _ROW,
            fill="#000",
            opacity=0.0,
            title=f"{event.name} {target} at {_clock(event.start)}",
            cls="service",
            data={"t": f"{event.start:.3f}"},
        )

    def _down_stretch(self, target: str, since: float, until: float | None) -> None:
        stop = self.t1 if until is None else until
        title = (
            f"{target} down from {_clock(since)} to the end"
            if until is None
            else (f"{target} down {_clock(since)} – {_clock(until)}")
        )
        self.svg.rect(self.x(since), self.y + 6, self.x(stop) - self.x(since), 4, fill="#888", opacity=0.6, title=title)

    def _start_bar(self, target: str, event: TimelineEvent) -> None:
        cx, done = self.x(event.start), self.end_of(event)
        self.svg.rect(
            cx,
            self.y + 3,
            max(self.x(done) - cx, 3),
            _ROW - 6,
            fill="#2ca02c",
            opacity=0.8,
            title=f"{event.name} {target}: {_clock(event.start)} – ready {_clock(done)}",
            cls="service",
            data={"t": f"{event.start:.3f}"},
        )

    def waits(self) -> None:
        waits = [e for e in self.view.events if e.kind == "progress" and e.end != e.start]
        for wait in waits:
            since = wait.params.get("since")
            if isinstance(since, (int, float)) and since < wait.start:
                wait.start = float(since)
        self.span_bars(
            sorted(waits, key=lambda e: e.start),
            "long waits",
            _WAIT_STYLE,
            lambda e: f"waiting for {e.name}" + (f" — {e.params['detail']}" if e.params.get("detail") else ""),
        )

    def checks(self) -> None:
        checks = [e for e in self.view.events if e.kind == "check"]
        if not checks:
            return
        self.lane_label("checks", self.y, _ROW, weight="bold")
        for event in checks:
            status = str(event.params.get("status", event.params.get("outcome", "")))
            ok = status in ("PASS", "ok", "True", "true", "passed")
            fill = "#2ca02c" if ok else ("#d62728" if status else "#555")
            cx = self.x(event.start)
            self.svg.path(
                f"M{cx:.1f},{self.y + 2:.1f} l6,6 l-6,6 l-6,-6 z",
                fill=fill,
                title=f"{event.name} {status} at {_clock(event.start)}".strip(),
            )
            if event.name == "verdict":
                self.svg.text(cx - 9, self.y + 12, f"{status}", size=10, fill=fill, anchor="end", weight="bold")
        self.y += _ROW + 4

    def node_charts(self) -> None:
        nodes = list(self.view.series.values())
        if not nodes:
            return
        lagging = {finding.alias for finding in self.view.fell_behind()}
        stored = [(s.alias, s.times, [float(v) for v in s.envelopes]) for s in nodes]
        self.chart("envelopes stored", stored, unit="", peaks_of=set())
        lag = [(s.alias, s.times, [float(v) for v in s.lag]) for s in nodes]
        self.chart("replication lag", lag, unit="behind", peaks_of=lagging)

    def chart(
        self, title: str, series: list[tuple[str, list[float], list[float]]], *, unit: str, peaks_of: set[str]
    ) -> None:
        top, height = self.y + 4, 90.0
        scale_max = _nice_ceiling(max((max(values) for _, _, values in series if values), default=0.0))
        self.lane_label(title, top, height, weight="bold")
        self.svg.text(
            PLOT_LEFT - 8, top + height / 2 + 17, f"0 – {scale_max:g} {unit}", size=9, fill="#666", anchor="end"
        )
        self.svg.rect(PLOT_LEFT, top, self.width, height, fill="none", stroke="#ddd")
        self.svg.line(PLOT_LEFT, top + height / 2, PLOT_RIGHT, top + height / 2, stroke="#eee")
        if not any(len(times) >= 2 for _, times, _ in series):
            self.svg.text(
                PLOT_LEFT + self.width / 2, top + height / 2 + 4, "no samples", size=11, fill="#666", anchor="middle"
            )
        for name, times, values in series:
            color = self.colors.get(name, "#444")
            points = [(self.x(t), top + height - (v / scale_max) * height) for t, v in zip(times, values, strict=True)]
            self.svg.polyline(points, stroke=color, title=f"{name} ({title})", cls="series")
            if name in peaks_of and values:
                self._peak(name, times, values, points, top, color, unit)
        self.y = top + height + 6

    def _peak(
        self,
        name: str,
        times: list[float],
        values: list[float],
        points: list[tuple[float, float]],
        top: float,
        color: str,
        unit: str,
    ) -> None:
        index = values.index(max(values))
        px, py = points[index]
        self.svg.circle(px, py, 3, fill=color, title=f"{name}: {max(values):g} {unit} at {_clock(times[index])}")
        self.svg.text(
            min(px + 5, PLOT_RIGHT - 4),
            max(py - 4, top + 10),
            f"{name} {max(values):g}",
            size=11,
            fill=color,
            weight="bold",
            anchor="end" if px > PLOT_RIGHT - 120 else "start",
        )

    def publishing(self) -> None:
        publishing = self.view.publishing
        published = publishing.get("published") or []
        if not published or publishing.get("start") is None:
            return
        bucket, start = float(publishing.get("bucket_seconds") or 1.0), float(publishing["start"])
        failed = publishing.get("failed") or [0] * len(published)
        top, height = self.y + 4, 50.0
        peak = _nice_ceiling(max(max(published), max(failed, default=0), 1))
        self.lane_label("publishing", top, height, weight="bold")
        self.svg.text(
            PLOT_LEFT - 8, top + height / 2 + 17, f"0 – {peak:g} per {bucket:g} s", size=9, fill="#666", anchor="end"
        )
        self.svg.rect(PLOT_LEFT, top, self.width, height, fill="none", stroke="#ddd")
        bar = max(bucket * self.per_second - 0.5, 0.8)
        for index, (ok, bad) in enumerate(zip(published, failed, strict=False)):
            moment = start + index * bucket
            if ok:
                h = ok / peak * height
                self.svg.rect(
                    self.x(moment),
                    top + height - h,
                    bar,
                    h,
                    fill="#4c78a8",
                    title=f"{ok} envelopes published {_clock(moment)}",
                )
            if bad:
                h = max(bad / peak * height, 3)
                self.svg.rect(
                    self.x(moment), top, bar, h, fill=_FAULT, title=f"{bad} publish request(s) failed {_clock(moment)}"
                )
        self.y = top + height + 6

    def user_lanes(self) -> None:
        """One lane per real XMTP user: what it sent (blue), received (green, with sender and
        delivery latency) and failed at (red)."""
        for name, lane in self.view.users.items():
            self.lane_label(f"{name} ({lane.get('node', '?')})", self.y, _ROW)
            middle = self.y + _ROW / 2
            for sent in lane.get("sent") or []:
                self.svg.circle(self.x(sent["at"]), middle - 3, 3, fill="#4c78a8", title=f"sent {sent.get('text')!r}")
            for got in lane.get("received") or []:
                title = f"received {got.get('text')!r} from {got.get('from')} after {got.get('latency', 0):.3f} s"
                self.svg.circle(self.x(got["at"]), middle + 3, 3, fill="#2ca02c", title=title)
            for failed in lane.get("failed") or []:
                title = f"{failed.get('kind')} failed: {str(failed.get('error'))[:200]}"
                self.svg.circle(self.x(failed["at"]), middle, 4, fill=_FAULT, title=title)
            self.y += _ROW + 2

    def _fault_bands(self) -> list[str]:
        """Each fault's in-force stretches shaded across everything below the axis."""
        bands = []
        for event in self.view.faults():
            label = _esc(self.view.fault_label(event))
            for number, (start_t, stop_t) in enumerate(self._in_force(event)):
                start, stop = self.x(start_t), self.x(stop_t)
                bands.append(
                    f'<rect x="{start:.1f}" y="{self.top_of_lanes:.1f}" width="{max(stop - start, 1):.1f}" '
                    f'height="{self.y - self.top_of_lanes:.1f}" fill="{_FAULT}" fill-opacity="0.09" class="fault-window" '
                    f'data-fault="{label}"><title>{label}: {_clock(start_t)} – {_clock(stop_t)}</title></rect>'
                )
                if number == 0:
                    bands.append(
                        f'<line x1="{start:.1f}" y1="{self.faults_top:.1f}" x2="{start:.1f}" y2="{self.y:.1f}" '
                        f'stroke="{_FAULT}" stroke-width="1" stroke-dasharray="3,3" stroke-opacity="0.6"/>'
                    )
        return bands

    def finish(self) -> str:
        svg = self.svg
        svg.parts[0:0] = self._fault_bands()
        svg.parts.append(
            f'<line class="cursor" x1="-10" y1="{self.top_of_lanes:.1f}" x2="-10" y2="{self.y:.1f}" '
            f'stroke="#000" stroke-width="1.2" visibility="hidden"/>'
        )
        svg.height = self.y + 4
        return svg.render(
            cls="timeline",
            label=f"timeline of {self.view.name}",
            data={
                "t0": f"{self.t0:.3f}",
                "t1": f"{self.t1:.3f}",
                "left": str(PLOT_LEFT),
                "right": str(PLOT_RIGHT),
                "width": str(TIMELINE_WIDTH),
            },
        )


def _service_order(name: str) -> tuple[int, int, str]:
    digits = "".join(c for c in name if c.isdigit())
    return (0 if name.startswith("node") else 1, int(digits) if digits else 0, name)


def _fit(text: str, pixels: float) -> str:
    chars = int(pixels / 6)
    return text if len(text) <= chars else (text[: max(chars - 1, 0)] + "…" if chars > 1 else "")


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


# ==============================================================================================
# plain charts (bench/RESULTS.md)
# ==============================================================================================
def bar_chart(
    title: str,
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    unit: str,
    width: int = 720,
) -> str:
    """Grouped horizontal bars: one group per label, one bar per series, value printed at its end."""
    svg = Svg(width)
    left, right = 230, width - 70
    svg.text(10, 18, title, size=14, weight="bold")
    legend_x = 10.0
    for index, (name, _) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        svg.rect(legend_x, 28, 10, 10, fill=color)
        svg.text(legend_x + 14, 37, name, size=11)
        legend_x += 24 + 7 * len(name)
    peak = _nice_ceiling(max((v for _, values in series for v in values if v is not None), default=1.0))
    bar_h = 14
    y = 50.0
    for g_index, group in enumerate(groups):
        group_h = bar_h * len(series) + 8
        svg.text(left - 8, y + group_h / 2 + 2, group, size=11, anchor="end")
        for s_index, (name, values) in enumerate(series):
            value = values[g_index] if g_index < len(values) else None
            color = PALETTE[s_index % len(PALETTE)]
            by = y + s_index * bar_h
            if value is None:
                svg.text(left + 4, by + bar_h - 3, "not measured", size=10, fill="#888")
                continue
            w = (right - left) * value / peak
            svg.rect(left, by, w, bar_h - 2, fill=color, title=f"{group} — {name}: {value:g} {unit}")
            svg.text(left + w + 4, by + bar_h - 3, f"{value:g}", size=10, fill="#333")
        y += group_h
    svg.line(left, 46, left, y, stroke="#999")
    svg.text(right, y + 14, f"{unit} (axis 0 – {peak:g})", size=10, fill="#666", anchor="end")
    svg.height = y + 22
    return svg.render(label=title, sized=True)


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    *,
    x_unit: str,
    y_unit: str,
    width: int = 720,
    height: int = 260,
) -> str:
    """Lines over a numeric x axis (e.g. run number, node count), with a legend."""
    svg = Svg(width)
    left, right, top, bottom = 60, width - 20, 46, height - 34
    svg.text(10, 18, title, size=14, weight="bold")
    legend_x = 10.0
    for index, (name, _) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        svg.rect(legend_x, 26, 10, 10, fill=color)
        svg.text(legend_x + 14, 35, name, size=11)
        legend_x += 24 + 7 * len(name)
    xs = [px for _, points in series for px, _ in points] or [0.0, 1.0]
    ys = [py for _, points in series for _, py in points] or [1.0]
    x_lo, x_hi = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y_hi = _nice_ceiling(max(ys))
    svg.rect(left, top, right - left, bottom - top, fill="#fafafa", stroke="#ddd")
    step = _nice_step(y_hi, 4)
    tick = 0.0
    while tick <= y_hi + 1e-9:
        ty = bottom - (bottom - top) * tick / y_hi
        svg.line(left, ty, right, ty, stroke="#eee")
        svg.text(left - 4, ty + 3, f"{tick:g}", size=9, fill="#666", anchor="end")
        tick += step
    for index, (name, points) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        coords = [
            (left + (right - left) * (px - x_lo) / (x_hi - x_lo), bottom - (bottom - top) * py / y_hi)
            for px, py in points
        ]
        svg.polyline(coords, stroke=color, title=name)
        for (cx, cy), (px, py) in zip(coords, points, strict=True):
            svg.circle(cx, cy, 2.5, fill=color, title=f"{name}: {py:g} {y_unit} at {px:g} {x_unit}")
    svg.text((left + right) / 2, height - 8, x_unit, size=10, fill="#666", anchor="middle")
    svg.text(left - 4, top - 6, y_unit, size=10, fill="#666", anchor="end")
    svg.height = height
    return svg.render(label=title, sized=True)
