"""The scale section of bench/RESULTS.md: a table per runtime and SVG charts, from scale-*.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recording import RESULTS
from svg_chart import line_chart

__all__ = ["scale_section"]

CHARTS = RESULTS.parent / "charts"
Row = dict[str, Any]


def _phase(row: Row, prefix: str) -> float | None:
    for name, seconds in (row.get("phases_seconds") or {}).items():
        if name.startswith(prefix):
            return float(seconds)
    return None


def _idle(row: Row, kind: str) -> float | None:
    value = (row.get("idle_cores") or {}).get(kind)
    return float(value) if value is not None else None


def _converged(row: Row, key: str) -> float | None:
    value = (row.get(key) or {}).get("seconds_until_last_node")
    return float(value) if value is not None and (row.get(key) or {}).get("converged") else None


def _failed_publishes(row: Row) -> int | None:
    phases: list[dict[str, Any]] = [row[key] for key in ("publish_100_into_one", "publish_10_into_each")
                                    if isinstance(row.get(key), dict)]
    return sum(int(phase.get("failed_publishes", 0)) for phase in phases) if phases else None


COLUMNS: tuple[tuple[str, Callable[[Row], Any]], ...] = (
    ("nodes", lambda r: r["nodes"]),
    ("ready s", lambda r: r.get("ready_seconds")),
    ("register s", lambda r: _phase(r, "register_nodes")),
    ("start s", lambda r: _phase(r, "start_nodes")),
    ("100 from one, s", lambda r: _converged(r, "replicate_100_from_one")),
    ("10 from each, s", lambda r: _converged(r, "replicate_10_from_each")),
    ("failed publishes", lambda r: _failed_publishes(r)),
    ("peak MiB", lambda r: r.get("peak_memory_mib")),
    ("MiB/node", lambda r: round(r["peak_memory_mib"] / r["nodes"], 1) if r.get("peak_memory_mib") else None),
    ("PG conns", lambda r: (r.get("postgres_connections") or {}).get("peak_this_run")),
    ("idle cores: nodes", lambda r: _idle(r, "nodes")),
    ("idle cores: Postgres", lambda r: _idle(r, "postgres_backends")),
    ("idle DB tx/s", lambda r: _idle(r, "database_transactions_per_second")),
    ("CPU s/node", lambda r: (r.get("cpu_seconds") or {}).get("per_node_mean")),
    ("toxiproxy fds", lambda r: r.get("toxiproxy_open_files_peak")),
    ("load before→after", lambda r: f"{r.get('load_average_before', 0):.0f}→{r.get('load_average_after', 0):.0f}"),
)


def _cell(value: Any) -> str:
    return "–" if value is None else str(value)


def _rows(report: dict[str, Any]) -> list[Row]:
    results = report.get("results") or {}
    return list(results.get("sizes", [])) if isinstance(results, dict) else []


def scale_section() -> list[str]:
    """Markdown lines (tables, failures, chart links); writes the charts to bench/charts/."""
    reports = {p.stem.removeprefix("scale-"): json.loads(p.read_text()) for p in sorted(RESULTS.glob("scale-*.json"))}
    reports = {runtime: r for runtime, r in reports.items() if runtime in ("local", "docker", "kubernetes")}
    if not reports:
        return []
    lines = ["## Scale: cost as the cluster grows", ""]
    for runtime, report in reports.items():
        machine = report.get("machine", {})
        lines += [f"### {runtime}", "",
                  f"`{report.get('command', '')}` — {report.get('date', '')}, {machine.get('cpus')} CPUs, "
                  f"commit {machine.get('commit', '?')}. {(report.get('results') or {}).get('note', '')}", "",
                  "| " + " | ".join(name for name, _ in COLUMNS) + " |",
                  "|" + "---|" * len(COLUMNS)]
        for row in _rows(report):
            lines.append("| " + " | ".join(_cell(get(row)) for _, get in COLUMNS) + " |")
        for row in _rows(report):
            if "error" in row:
                lines.append(f"\n{row['nodes']} nodes failed in {row['error']['phase']}: "
                             f"`{row['error']['message'][:300]}`")
        lines.append("")
    CHARTS.mkdir(exist_ok=True)
    sizes = sorted({row["nodes"] for report in reports.values() for row in _rows(report)})

    def series(get: Callable[[Row], Any]) -> dict[str, list[float | None]]:
        out: dict[str, list[float | None]] = {}
        for runtime, report in reports.items():
            by_size = {row["nodes"]: get(row) for row in _rows(report)}
            out[runtime] = [by_size.get(size) for size in sizes]
        return out

    cpus = max(int(report.get("machine", {}).get("cpus") or 0) for report in reports.values())
    charts: dict[str, tuple[str, str, dict[str, list[float | None]], tuple[str, float] | None]] = {
        "scale-ready.svg": ("Time to ready", "seconds", series(lambda r: r.get("ready_seconds")), None),
        "scale-replication.svg": ("10 envelopes into every node: until on all nodes", "seconds",
                                  series(lambda r: _converged(r, "replicate_10_from_each")), None),
        "scale-memory.svg": ("Peak memory, runner + services", "MiB", series(lambda r: r.get("peak_memory_mib")),
                             None),
        "scale-idle-cores.svg": ("CPU of an idle cluster (nodes + their Postgres backends)", "cores",
                                 series(lambda r: None if _idle(r, "nodes") is None
                                        else round((_idle(r, "nodes") or 0) + (_idle(r, "postgres_backends") or 0), 2)),
                                 (f"{cpus} cores: the whole machine", float(cpus)) if cpus else None),
    }
    for name, (title, unit, data, reference) in charts.items():
        (CHARTS / name).write_text(line_chart(title, "nodes", unit, [float(s) for s in sizes], data, reference))
        lines += [f"![{title}](charts/{name})", ""]
    return lines


if __name__ == "__main__":
    print("\n".join(scale_section()))
