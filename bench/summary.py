"""bench/RESULTS.md: tables and SVG charts from the recorded results (``bench/results/*.json``).

Known benchmarks get a table shaped for what they measure and a chart (drawn by the report's
own SVG code into ``bench/charts/``); any other result file gets a flat table of its numbers,
medians first, so a new benchmark shows up readably before anyone writes a view for it.
``python bench/summary.py`` rewrites the page from the files alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from recording import RESULTS

from xmtpd_e2e.report.svg import bar_chart, line_chart

BENCH = Path(__file__).resolve().parent
CHARTS = BENCH / "charts"

Section = tuple[list[str], list[tuple[str, str]]]
"""Markdown lines, and charts to write as (file name, SVG text)."""


def _median(value: Any) -> float | None:
    if isinstance(value, dict) and isinstance(value.get("median"), (int, float)):
        return float(value["median"])
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _spread(value: Any) -> str:
    """``1.87`` or ``1.87 (1.79–2.02, n=5)`` for a recorded statistic."""
    median = _median(value)
    if median is None:
        return str(value) if value is not None else "—"
    if isinstance(value, dict) and "min" in value and "max" in value:
        samples = value.get("samples") or []
        return (
            f"{median:g} ({value['min']:g}–{value['max']:g}, n={len(samples)})" if len(samples) > 1 else f"{median:g}"
        )
    return f"{median:g}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines + [""]


def _chart_link(name: str, title: str) -> str:
    return f"![{title}](charts/{name})"


# -- views of known benchmarks ------------------------------------------------------------------
def _bring_up(reports: dict[str, dict[str, Any]]) -> Section:
    runtimes = [r for r in ("local", "docker") if f"bring-up-{r}" in reports]
    by_nodes: dict[int, dict[str, Any]] = {}
    for runtime in runtimes:
        for row in reports[f"bring-up-{runtime}"]["results"]:
            by_nodes.setdefault(int(row["nodes"]), {})[runtime] = row["seconds"]
    rows = [[str(n)] + [_spread(values.get(r)) for r in runtimes] for n, values in sorted(by_nodes.items())]
    groups = [f"{n} node{'s' if n > 1 else ''}" for n in sorted(by_nodes)]
    svg = bar_chart(
        "Environment ready (seconds, median)",
        groups,
        [(r, [_median(by_nodes[n].get(r)) for n in sorted(by_nodes)]) for r in runtimes],
        unit="s",
    )
    lines = [
        "Environment ready: base services plus N nodes started and registered, seconds.",
        "",
        *_table(["nodes", *runtimes], rows),
        _chart_link("bring-up.svg", "bring-up"),
        "",
    ]
    return lines, [("bring-up.svg", svg)]


def _smoke(reports: dict[str, dict[str, Any]]) -> Section:
    runtimes = [r for r in ("local", "docker") if f"smoke-{r}" in reports]
    phases = list(reports[f"smoke-{runtimes[0]}"]["results"]["phases_seconds"]) if runtimes else []
    rows = [
        [phase] + [_spread(reports[f"smoke-{r}"]["results"]["phases_seconds"].get(phase)) for r in runtimes]
        for phase in phases
    ]
    rows.append(
        ["peak memory, MiB"] + [_spread(reports[f"smoke-{r}"]["results"].get("peak_memory_mib")) for r in runtimes]
    )
    shown = [p for p in phases if p != "total"]
    svg = bar_chart(
        "smoke, by phase (seconds, median)",
        shown,
        [(r, [_median(reports[f"smoke-{r}"]["results"]["phases_seconds"].get(p)) for p in shown]) for r in runtimes],
        unit="s",
    )
    return (
        [
            "The smoke scenario by phase, seconds.",
            "",
            *_table(["phase", *runtimes], rows),
            _chart_link("smoke-phases.svg", "smoke phases"),
            "",
        ],
        [("smoke-phases.svg", svg)],
    )


def _throughput(reports: dict[str, dict[str, Any]]) -> Section:
    names = sorted(n for n in reports if n.startswith("throughput-"))
    keys: list[tuple[str, int]] = []
    values: dict[str, dict[tuple[str, int], dict[str, Any]]] = {}
    for name in names:
        for row in reports[name]["results"]:
            key = (str(row.get("path")), int(row.get("concurrency", 1)))
            if key not in keys:
                keys.append(key)
            values.setdefault(name, {})[key] = row
    labels = [n.removeprefix("throughput-") for n in names]
    rows = []
    for key in keys:
        cells = []
        for name in names:
            row = values[name].get(key)
            if row is None:
                cells.append("—")
                continue
            failed = row.get("failed_requests") or 0
            cells.append(f"{row.get('envelopes_per_second', 0):g}" + (f" ({failed} failed requests)" if failed else ""))
        rows.append([f"{key[0]}, {key[1]} publisher{'s' if key[1] > 1 else ''}", *cells])
    svg = bar_chart(
        "Envelopes per second accepted",
        [f"{p}, {c} pub." for p, c in keys],
        [
            (label, [(_median(values[n].get(k, {}).get("envelopes_per_second"))) for k in keys])
            for label, n in zip(labels, names, strict=True)
        ],
        unit="envelopes/s",
    )
    return (
        [
            "Envelopes per second accepted (batches of 10).",
            "",
            *_table(["path", *labels], rows),
            _chart_link("throughput.svg", "throughput"),
            "",
        ],
        [("throughput.svg", svg)],
    )


def _suite(reports: dict[str, dict[str, Any]]) -> Section:
    runtimes = [r for r in ("local", "docker") if f"suite-{r}" in reports]
    rows = []
    scenario_rows: dict[str, dict[str, float]] = {}
    for runtime in runtimes:
        for entry in reports[f"suite-{runtime}"]["results"]:
            rows.append(
                [
                    runtime,
                    str(entry.get("parallel")),
                    _spread(entry.get("wall_seconds")),
                    _spread(entry.get("runner_peak_rss_mib")),
                ]
            )
            if entry.get("parallel") == 1 and entry.get("runs"):
                for scenario, seconds in (entry["runs"][0].get("scenario_seconds") or {}).items():
                    scenario_rows.setdefault(scenario, {})[runtime] = float(seconds)
    names = list(scenario_rows)
    svg = bar_chart(
        "Fast suite, serial: seconds per scenario",
        names,
        [(r, [scenario_rows[n].get(r) for n in names]) for r in runtimes],
        unit="s",
    )
    return (
        [
            "The fast suite, wall seconds, and the runner's peak memory.",
            "",
            *_table(["runtime", "--parallel", "wall seconds", "runner peak MiB"], rows),
            _chart_link("suite-scenarios.svg", "suite scenarios"),
            "",
        ],
        [("suite-scenarios.svg", svg)],
    )


def _flakiness(reports: dict[str, dict[str, Any]]) -> Section:
    rows = []
    for name in sorted(n for n in reports if n.startswith("flakiness-")):
        results = reports[name]["results"]
        outcomes = results.get("outcomes") or {}
        passed = sum(int(o.get("PASS", 0)) for o in outcomes.values())
        total = sum(int(v) for o in outcomes.values() for v in o.values())
        not_passed = ", ".join(f"{s}: {o}" for s, o in outcomes.items() if set(o) != {"PASS"}) or "none"
        rows.append(
            [
                name.removeprefix("flakiness-"),
                str(results.get("runs")),
                str(results.get("parallel")),
                f"{passed} / {total}",
                not_passed,
            ]
        )
    return (
        [
            "The fast suite run again and again.",
            "",
            *_table(
                ["runtime", "runs", "--parallel", "scenario runs passed", "scenarios that did not always pass"], rows
            ),
        ],
        [],
    )


def _chain(reports: dict[str, dict[str, Any]]) -> Section:
    results = reports["chain-operations"]["results"]
    rows = []
    for key, value in results.items():
        if isinstance(value, dict) and key.endswith("_seconds"):
            rows.append(
                [
                    key.removesuffix("_seconds").replace("_", " "),
                    _spread(value.get("xmtpd_e2e")),
                    _spread(value.get("xmtpd_cli")),
                ]
            )
    return (
        [
            f"Chain operations for {results.get('nodes')} nodes / {results.get('payers')} payers, seconds.",
            "",
            *_table(["operation", "xmtpd-e2e (Python)", "xmtpd-cli"], rows),
        ],
        [],
    )


def _upstream(reports: dict[str, dict[str, Any]]) -> Section:
    results = reports["upstream-comparison-smoke"]["results"]
    walls = results.get("wall_seconds") or {}
    speedups = results.get("speedup_vs_upstream") or {}
    rows = [[name.replace("_", " "), _spread(value), f"{speedups.get(name, 0):g}×"] for name, value in walls.items()]
    svg = bar_chart(
        f"{results.get('test')} against upstream's Go framework (seconds, median)",
        list(walls),
        [("wall seconds", [_median(v) for v in walls.values()])],
        unit="s",
    )
    return (
        [
            f"`{results.get('test')}` on xmtpd {results.get('xmtpd_version')}, wall seconds.",
            "",
            *_table(["framework", "wall seconds", "speed-up"], rows),
            _chart_link("upstream-comparison.svg", "upstream comparison"),
            "",
        ],
        [("upstream-comparison.svg", svg)],
    )


def _scale_phase(row: dict[str, Any], prefix: str) -> float | None:
    return next((float(v) for k, v in (row.get("phases_seconds") or {}).items() if k.startswith(prefix)), None)


def _scale_converged(row: dict[str, Any], key: str) -> float | None:
    phase = row.get(key) or {}
    return (
        float(phase["seconds_until_last_node"])
        if phase.get("converged") and "seconds_until_last_node" in phase
        else None
    )


def _scale_failed_publishes(row: dict[str, Any]) -> int | None:
    phases = [row[k] for k in ("publish_100_into_one", "publish_10_into_each") if isinstance(row.get(k), dict)]
    return sum(int(p.get("failed_publishes", 0)) for p in phases) if phases else None


def _scale_idle(row: dict[str, Any], kind: str) -> float | None:
    value = (row.get("idle_cores") or {}).get(kind)
    return float(value) if isinstance(value, (int, float)) else None


_SCALE_COLUMNS: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("nodes", lambda r: r["nodes"]),
    ("ready s", lambda r: r.get("ready_seconds")),
    ("register s", lambda r: _scale_phase(r, "register_nodes")),
    ("start s", lambda r: _scale_phase(r, "start_nodes")),
    ("idle cores: nodes", lambda r: _scale_idle(r, "nodes")),
    ("idle cores: Postgres", lambda r: _scale_idle(r, "postgres_backends")),
    ("idle DB tx/s", lambda r: _scale_idle(r, "database_transactions_per_second")),
    ("100 from one → all, s", lambda r: _scale_converged(r, "replicate_100_from_one")),
    ("10 into each → all, s", lambda r: _scale_converged(r, "replicate_10_from_each")),
    ("failed publishes", _scale_failed_publishes),
    ("peak MiB", lambda r: r.get("peak_memory_mib")),
    ("MiB / node", lambda r: round(r["peak_memory_mib"] / r["nodes"], 1) if r.get("peak_memory_mib") else None),
    ("Postgres conns", lambda r: (r.get("postgres_connections") or {}).get("peak_this_run")),
    ("toxiproxy fds", lambda r: r.get("toxiproxy_open_files_peak")),
    ("CPU s / node", lambda r: (r.get("cpu_seconds") or {}).get("per_node_mean")),
    (
        "load 1 min before → after",
        lambda r: f"{r.get('load_average_before', 0):.0f} → {r.get('load_average_after', 0):.0f}",
    ),
]


def _scale(reports: dict[str, dict[str, Any]]) -> Section:
    runtimes = [r for r in ("local", "docker") if f"scale-{r}" in reports]
    lines = [
        "Clusters of N nodes and a gateway (`bench/scale.py`): time to ready, the CPU an idle cluster",
        "uses, replication of 100 envelopes published into one node and of 10 into every node, peak",
        "memory of the runner and every service, Postgres connections, toxiproxy's open files.",
        "",
    ]
    charts: list[tuple[str, str]] = []
    points: dict[str, dict[str, list[tuple[float, float]]]] = {}
    cpus = 0
    for runtime in runtimes:
        report = reports[f"scale-{runtime}"]
        cpus = max(cpus, int((report.get("machine") or {}).get("cpus") or 0))
        rows = list((report.get("results") or {}).get("sizes") or [])
        lines += [
            f"**{runtime}** — {(report.get('results') or {}).get('note', '')}",
            "",
            *_table(
                [name for name, _ in _SCALE_COLUMNS],
                [["—" if get(row) is None else str(get(row)) for _, get in _SCALE_COLUMNS] for row in rows],
            ),
        ]
        for row in rows:
            if "error" in row:
                lines += [
                    f"- {runtime}, {row['nodes']} nodes, failed in {row['error']['phase']}: "
                    f"`{row['error']['message'].splitlines()[0][:240]}`"
                ]
        lines.append("")
        for row in rows:
            n = float(row["nodes"])
            measures = {
                "ready": row.get("ready_seconds"),
                "idle": None
                if _scale_idle(row, "nodes") is None
                else (_scale_idle(row, "nodes") or 0) + (_scale_idle(row, "postgres_backends") or 0),
                "memory": row.get("peak_memory_mib"),
            }
            for measure, value in measures.items():
                if isinstance(value, (int, float)):
                    points.setdefault(measure, {}).setdefault(runtime, []).append((n, float(value)))
    titles = {
        "ready": ("scale-ready.svg", "Cluster ready (seconds)", "s"),
        "idle": ("scale-idle-cores.svg", "CPU of an idle cluster: nodes + their Postgres backends (cores)", "cores"),
        "memory": ("scale-memory.svg", "Peak memory, runner + services (MiB)", "MiB"),
    }
    for measure, (file_name, title, unit) in titles.items():
        series = list(points.get(measure, {}).items())
        if measure == "idle" and cpus and series:
            xs = [x for _, pts in series for x, _ in pts]
            series.append((f"all {cpus} cores of the machine", [(min(xs), float(cpus)), (max(xs), float(cpus))]))
        if series:
            charts.append((file_name, line_chart(title, series, x_unit="nodes", y_unit=unit)))
            lines += [_chart_link(file_name, title), ""]
    return lines, charts


def _catalogue_runs(reports: dict[str, dict[str, Any]]) -> Section:
    names = sorted(n for n, r in reports.items() if "schema_version" in r and "scenarios" in r)
    scenarios: list[str] = []
    cells: dict[str, dict[str, str]] = {}
    for name in names:
        for scenario in reports[name]["scenarios"]:
            if scenario["name"] not in scenarios:
                scenarios.append(scenario["name"])
            mark = "" if scenario["status"] == "PASS" else f" **{scenario['status']}**"
            cells.setdefault(scenario["name"], {})[name] = f"{float(scenario['duration_seconds']):.0f} s{mark}"
    rows = [[s, *(cells[s].get(n, "—") for n in names)] for s in scenarios]
    totals = ["whole run", *(f"{float(reports[n]['duration_seconds']):.0f} s" for n in names)]
    return (
        [
            "Recorded `xmtpd-e2e run` results (scenario durations; anything not PASS in bold).",
            "",
            *_table(["scenario", *names], [*rows, totals]),
        ],
        [],
    )


def _generic(name: str, report: dict[str, Any]) -> Section:
    rows = [[path, text] for path, text in _leaves(report.get("results"), "")][:80]
    return (_table(["measure", "value"], rows) if rows else ["(no numbers recorded)", ""], [])


def _leaves(value: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict) and "median" in value:
        yield prefix or "value", _spread(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        yield prefix, f"{len(value)} values, {min(value):g}–{max(value):g}"
    elif isinstance(value, list):
        for index, item in enumerate(value[:20]):
            label = next(
                (
                    f"{k}={item[k]}"
                    for k in ("name", "nodes", "parallel", "path")
                    if isinstance(item, dict) and k in item
                ),
                str(index),
            )
            yield from _leaves(item, f"{prefix}[{label}]")
    elif value is not None:
        yield prefix, str(value)


_VIEWS: list[tuple[str, Callable[[str], bool], Callable[[dict[str, dict[str, Any]]], Section]]] = [
    ("Environment bring-up", lambda n: n.startswith("bring-up-"), _bring_up),
    ("Smoke by phase", lambda n: n.startswith("smoke-"), _smoke),
    ("Throughput", lambda n: n.startswith("throughput-"), _throughput),
    ("Fast suite", lambda n: n.startswith("suite-"), _suite),
    ("Reliability", lambda n: n.startswith("flakiness-"), _flakiness),
    ("Chain operations", lambda n: n == "chain-operations", _chain),
    ("Against upstream", lambda n: n == "upstream-comparison-smoke", _upstream),
    ("Scale: cost as the cluster grows", lambda n: n in ("scale-local", "scale-docker"), _scale),
]


def write_summary(results: Path = RESULTS, out: Path = BENCH / "RESULTS.md") -> Path:
    reports: dict[str, dict[str, Any]] = {}
    for path in sorted(results.glob("*.json")):
        try:
            reports[path.stem] = json.loads(path.read_text())
        except ValueError:
            continue
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run_all.py` (or `bench/summary.py` alone) from `bench/results/*.json`; each file",
        "holds the samples, the command and the machine. Medians, with (min–max, number of samples);",
        "wall-clock seconds unless stated. Charts are SVG files in `bench/charts/`.",
        "",
    ]
    charts: list[tuple[str, str]] = []
    shown: set[str] = set()

    def provenance(names: list[str]) -> list[str]:
        out_lines = []
        for name in names:
            report = reports[name]
            machine = report.get("machine") or {}
            if "command" in report:
                out_lines.append(
                    f"- `{name}`: `{report.get('command', '')}` — {report.get('date', '')}, "
                    f"{machine.get('cpus')} CPUs ({machine.get('cpu_model', '')}), commit {machine.get('commit', '?')}"
                )
            else:
                out_lines.append(f"- `{name}`: run {report.get('run_id', '?')} started {report.get('started_at', '')}")
        return out_lines + [""]

    for title, matches, view in _VIEWS:
        names = [n for n in reports if matches(n)]
        if not names:
            continue
        section, drawn = view(reports)
        lines += [f"## {title}", "", *section, *provenance(names)]
        charts += drawn
        shown.update(names)
    runs = [n for n, r in reports.items() if n not in shown and "schema_version" in r and "scenarios" in r]
    if runs:
        section, drawn = _catalogue_runs({n: reports[n] for n in runs})
        lines += ["## Catalogue runs", "", *section, *provenance(runs)]
        shown.update(runs)
    for name in (n for n in reports if n not in shown):
        section, drawn = _generic(name, reports[name])
        lines += [f"## {reports[name].get('benchmark', name)}", "", *section, *provenance([name])]
    CHARTS.mkdir(exist_ok=True)
    for file_name, svg in charts:
        (CHARTS / file_name).write_text(svg + "\n")
    out.write_text("\n".join(lines))
    return out


if __name__ == "__main__":
    print(write_summary())
