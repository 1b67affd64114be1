"""The HTML page: one self-contained file (inline CSS, SVG and vanilla JS, no network at all).

Layout: the run's summary table, then per scenario a headline saying which node fell behind
during which fault, the timeline, the checks, and all service logs interleaved on one clock,
filterable by service and searchable.  Clicking the timeline scrolls the logs to that moment.
"""

from __future__ import annotations

import html
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from xmtpd_e2e.report.logs import interleave, omitted_lines
from xmtpd_e2e.report.model import RunView, ScenarioView
from xmtpd_e2e.report.svg import PALETTE, scenario_timeline

__all__ = ["render_page"]

_STATUS_COLOR = {
    "PASS": "#1a7f37",
    "FAIL": "#cf222e",
    "ERROR": "#cf222e",
    "TIMEOUT": "#cf222e",
    "INTERRUPTED": "#9a6700",
    "SETUP_ERROR": "#8250df",
}


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _clock(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%H:%M:%S UTC")


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def _link(path: str, base: Path) -> str:
    """A link to an artifact, relative to the page when both are on the same tree."""
    target = Path(path)
    try:
        href = os.path.relpath(target, base)
    except ValueError:
        href = target.as_uri() if target.is_absolute() else path
    return f'<a href="{_esc(href)}">{_esc(target.name)}</a>'


def _colors(view: ScenarioView) -> dict[str, str]:
    names = list(view.series)
    for event in view.events:
        for target in event.targets:
            if target not in names:
                names.append(target)
    for service in view.logs:
        if service not in names:
            names.append(service)
    return {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(names)}


def _summary_table(run: RunView, base: Path) -> str:
    rows = []
    for index, view in enumerate(run.scenarios):
        typical = view.typical_seconds
        if typical:
            ratio = view.duration / typical
            bar = (
                f'<span class="bar"><span style="width:{min(ratio, 2) * 50:.0f}%;background:'
                f'{"#cf222e" if ratio > 1.5 else "#4c78a8"}"></span></span>'
            )
            duration = f"{_seconds(view.duration)} {bar} <small>typical {_seconds(typical)}</small>"
        else:
            duration = _seconds(view.duration)
        artifacts = " ".join(_link(a, base) for a in view.artifacts[:40])
        if len(view.artifacts) > 40:
            artifacts += f" … {len(view.artifacts) - 40} more"
        color = _STATUS_COLOR.get(view.status, "#555")
        rows.append(
            f'<tr><td><a href="#scenario-{index}">{_esc(view.name)}</a></td>'
            f'<td><b style="color:{color}">{_esc(view.status)}</b></td><td>{duration}</td>'
            f'<td class="err">{_esc((view.error or "")[:300])}</td><td class="arts">{artifacts or "—"}</td></tr>'
        )
    return (
        '<table class="summary"><thead><tr><th>scenario</th><th>status</th><th>duration</th>'
        "<th>error</th><th>artifacts</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _headline(view: ScenarioView) -> str:
    findings = view.fell_behind()
    items = [f'<li class="behind">{_esc(f.sentence(_clock))}</li>' for f in findings[:6]]
    if not findings and view.series and not view.sampled:
        items.append("<li>no samples: no node was sampled during this scenario, so its replication lag is unknown</li>")
    elif not findings and view.series:
        items.append("<li>every node kept up: no sampled replication lag</li>")
    faults = view.faults()
    if faults:
        listed = "; ".join(
            f"{view.fault_label(f)} {_clock(f.start)}–{_clock(f.end) if f.end else 'end'}" for f in faults[:8]
        )
        items.append(
            f"<li>faults: {_esc(listed)}" + (f" (+{len(faults) - 8} more)" if len(faults) > 8 else "") + "</li>"
        )
    failures = view.publishing.get("failed_total") or 0
    if failures:
        first = (view.publishing.get("failures") or [{}])[0]
        items.append(f"<li>{failures} publish request(s) failed; first: {_esc(first.get('error', ''))[:240]}</li>")
    return '<ul class="headline">' + "".join(items) + "</ul>" if items else ""


def _checks(view: ScenarioView) -> str:
    parts = []
    if view.invariant_violations:
        parts.append(
            "<h4>global invariants violated</h4><ul>"
            + "".join(f"<li>{_esc(v)}</li>" for v in view.invariant_violations)
            + "</ul>"
        )
    elif view.status == "PASS":
        parts.append('<p class="ok">global invariants held (or were not checked, as the scenario declares)</p>')
    if view.error:
        parts.append(f'<h4>error</h4><pre class="error">{_esc(view.error)}</pre>')
    if view.teardown_error:
        parts.append(f"<p>teardown: {_esc(view.teardown_error)}</p>")
    if view.traceback:
        parts.append(f"<details><summary>traceback</summary><pre>{_esc(view.traceback)}</pre></details>")
    return "".join(parts)


def _recoveries(view: ScenarioView) -> str:
    """Each healed fault's recovery time: to every node, and to every read node when there were readers."""
    if not view.recoveries:
        return ""
    rows = "".join(
        f"<tr><td>{_esc(r.kind)}</td><td>{_esc(r.target)}</td><td>{_clock(r.healed_at)}</td>"
        f"<td>{r.acknowledged}</td><td>{_seconds(r.nodes_seconds)}{'' if r.nodes_converged else ' (not by the end)'}</td>"
        f"<td>{'–' if r.readers_seconds is None else _seconds(r.readers_seconds)}</td>"
        f"<td>{'yes' if r.recovered else 'no'}</td></tr>"
        for r in view.recoveries
    )
    return (
        '<h4>recovery after each heal</h4><table class="recoveries"><tr><th>fault</th><th>target</th>'
        "<th>healed at</th><th>acknowledged</th><th>every node had them</th><th>readers caught up</th>"
        f"<th>recovered</th></tr>{rows}</table>"
    )


def _legend(view: ScenarioView, colors: dict[str, str]) -> str:
    chips = [f'<span class="chip"><i style="background:{colors[n]}"></i>{_esc(n)}</span>' for n in view.series]
    chips.append('<span class="chip"><i style="background:#d62728;opacity:.35"></i>fault window</span>')
    chips.append('<span class="chip">■ stop ✕ kill <i style="background:#2ca02c"></i>start</span>')
    if view.recoveries:
        chips.append('<span class="chip"><i style="background:#e6a23c"></i>recovery after a heal</span>')
    return (
        '<div class="legend">'
        + "".join(chips)
        + '<span class="hint">click the timeline to jump to that moment in the logs</span></div>'
    )


def _logs_data(view: ScenarioView, colors: dict[str, str]) -> tuple[str, str]:
    """(the filter bar HTML, the JSON the script renders rows from)."""
    lines = interleave(view.logs)
    services = sorted(view.logs, key=lambda s: (s != "scenario", s))
    index = {name: i for i, name in enumerate(services)}
    rows = [
        [round(line.time, 3) if line.time is not None else None, index[line.service], line.level, line.text]
        for line in lines
    ]
    omitted = {name: omitted_lines(text) for name, text in view.logs.items()}
    cut = [f"{name} ({count} lines)" for name, count in omitted.items() if count]
    note = f"logs {view.logs_source}"
    if cut:
        note += "; long logs were cut in the middle, keeping their start and end: " + ", ".join(cut)
    boxes = "".join(
        f'<label class="svc"><input type="checkbox" checked value="{i}"><i style="background:{colors.get(name, "#444")}">'
        f"</i>{_esc(name)}</label>"
        for i, name in enumerate(services)
    )
    bar = (
        f'<div class="logbar"><input type="search" class="search" placeholder="search the logs">'
        f'<label class="svc"><input type="checkbox" class="errors-only"> warnings and errors only</label>'
        f'<span class="services">{boxes}</span><span class="count"></span></div>'
        f'<p class="note">{_esc(note)}</p>'
    )
    data = {"services": services, "colors": [colors.get(s, "#444") for s in services], "rows": rows}
    return bar, json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


def _scenario_section(index: int, view: ScenarioView, open_: bool) -> str:
    colors = _colors(view)
    color = _STATUS_COLOR.get(view.status, "#555")
    timeline = (
        scenario_timeline(view, colors)
        if (view.events or view.series)
        else ('<p class="note">no timeline was recorded for this scenario</p>')
    )
    bar, data = _logs_data(view, colors)
    env = view.environment
    where = ", ".join(str(x) for x in (env.get("runtime"), env.get("xmtpd_version")) if x)
    return (
        f'<section class="scenario" id="scenario-{index}" data-index="{index}">'
        f"<details {'open' if open_ else ''}><summary><h2>{_esc(view.name)} "
        f'<span style="color:{color}">{_esc(view.status)}</span> <small>{_seconds(view.duration)}'
        f"{' · ' + _esc(where) if where else ''} · started {_clock(view.started_at)}</small></h2></summary>"
        f"{_headline(view)}"
        f'<div class="timeline-box">{timeline}</div>{_legend(view, colors)}'
        f'<div class="checks">{_checks(view)}{_recoveries(view)}</div>'
        f"<h3>logs</h3>{bar}"
        f'<div class="logs" tabindex="0"></div>'
        f'<script type="application/json" class="logdata">{data}</script>'
        f"</details></section>"
    )


def render_page(run: RunView, output: Path) -> str:
    """The whole page as text; links to artifacts are made relative to ``output``'s folder."""
    base = output.resolve().parent
    counts = ", ".join(f"{n} {k.lower().replace('_', ' ')}" for k, n in run.summary.items() if n and k != "total")
    failing = sum(1 for v in run.scenarios if v.status != "PASS")
    sections = "".join(
        _scenario_section(i, v, open_=v.status != "PASS" or len(run.scenarios) <= 3 or (failing == 0 and i == 0))
        for i, v in enumerate(run.scenarios)
    )
    return _TEMPLATE.format(
        title=_esc(f"{run.title} {run.run_id}"),
        heading=_esc(run.title),
        run_id=_esc(run.run_id),
        started=_esc(run.started_at),
        duration=_esc(_seconds(run.duration)),
        counts=_esc(counts or "no scenarios"),
        summary=_summary_table(run, base),
        sections=sections,
        style=_STYLE,
        script=_SCRIPT,
        generated=_esc(datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
    )


_STYLE = """
*{box-sizing:border-box}
body{margin:0 auto;max-width:1400px;padding:12px 20px 60px;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;background:#fff}
h1{font-size:20px;margin:6px 0}h2{display:inline;font-size:17px;margin:0}h3{font-size:15px;margin:14px 0 6px}h4{margin:10px 0 4px}
small{color:#57606a;font-weight:normal}
table.summary{border-collapse:collapse;width:100%;margin:8px 0 18px}
table.recoveries{border-collapse:collapse;margin:4px 0 12px}
table.recoveries th,table.recoveries td{border-bottom:1px solid #d0d7de;padding:2px 8px;text-align:left}
table.summary th,table.summary td{border-bottom:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
td.err{max-width:420px;font-size:12px;color:#cf222e}td.arts{font-size:12px;max-width:360px}
td.arts a{margin-right:6px}
.bar{display:inline-block;width:80px;height:8px;background:#eaeef2;border-radius:4px;vertical-align:middle;position:relative;overflow:hidden}
.bar span{position:absolute;left:0;top:0;bottom:0}
section.scenario{border-top:2px solid #d0d7de;padding:8px 0}
summary{cursor:pointer;padding:4px 0}
ul.headline{margin:6px 0;padding-left:20px}ul.headline li.behind{color:#a40e26;font-weight:600}
.timeline-box{border:1px solid #d0d7de;border-radius:6px;padding:4px;background:#fff}
svg.timeline{width:100%;height:auto;display:block;cursor:crosshair}
svg.timeline rect.fault-window:hover{fill-opacity:.18}
.legend{margin:4px 0;font-size:12px;color:#57606a}.chip{margin-right:12px;white-space:nowrap}
.chip i,.svc i{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px -1px 0}
.hint{float:right;font-style:italic}
.checks pre{white-space:pre-wrap;background:#fff8f8;border:1px solid #ffd7d5;padding:6px;border-radius:4px;font-size:12px;max-height:300px;overflow:auto}
p.ok{color:#1a7f37}.note{font-size:12px;color:#57606a;margin:2px 0 4px}
.logbar{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:center;position:sticky;top:0;background:#fff;padding:4px 0;z-index:2}
.logbar input.search{width:260px;padding:3px 6px;border:1px solid #d0d7de;border-radius:4px}
.svc{font-size:12px;white-space:nowrap;cursor:pointer}.count{font-size:12px;color:#57606a}
.logs{position:relative;height:55vh;min-height:240px;overflow:auto;border:1px solid #d0d7de;border-radius:6px;font:12px/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#fcfcfc}
.logs .row{display:flex;gap:8px;padding:0 6px;border-left:3px solid transparent;white-space:pre-wrap;word-break:break-word}
.logs .row:hover{background:#f0f4f8}
.logs .t{color:#57606a;flex:0 0 92px;white-space:nowrap}.logs .s{flex:0 0 110px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.logs .m{flex:1 1 auto}.logs .WARN .m{color:#9a6700}.logs .ERROR .m{color:#cf222e;font-weight:600}
.logs .row.hit{background:#fff3b0;border-left-color:#000}.logs .row.hidden{display:none}
footer{margin-top:30px;font-size:12px;color:#57606a}
"""

_SCRIPT = r"""
(function(){
  function clock(t){ if(t===null) return '--:--:--'; var d=new Date(t*1000); return d.toISOString().substr(11,12); }
  document.querySelectorAll('section.scenario').forEach(function(section){
    var data = JSON.parse(section.querySelector('script.logdata').textContent);
    var box = section.querySelector('.logs');
    var frag = document.createDocumentFragment();
    var rows = [];
    data.rows.forEach(function(r){
      var div = document.createElement('div');
      div.className = 'row ' + (r[2]||'');
      div.dataset.t = r[0] === null ? '' : r[0];
      div.dataset.s = r[1];
      var t = document.createElement('span'); t.className='t'; t.textContent = clock(r[0]);
      var s = document.createElement('span'); s.className='s'; s.textContent = data.services[r[1]]; s.style.color = data.colors[r[1]];
      var m = document.createElement('span'); m.className='m'; m.textContent = r[3];
      div.appendChild(t); div.appendChild(s); div.appendChild(m);
      frag.appendChild(div); rows.push(div);
    });
    box.appendChild(frag);
    var search = section.querySelector('input.search');
    var errorsOnly = section.querySelector('input.errors-only');
    var boxes = section.querySelectorAll('.services input');
    var count = section.querySelector('.count');
    function apply(){
      var on = {}; boxes.forEach(function(b){ on[b.value] = b.checked; });
      var needle = search.value.toLowerCase();
      var shown = 0;
      rows.forEach(function(div, i){
        var r = data.rows[i];
        var visible = on[r[1]] && (!errorsOnly.checked || r[2]==='WARN' || r[2]==='ERROR') &&
                      (!needle || r[3].toLowerCase().indexOf(needle) >= 0);
        div.classList.toggle('hidden', !visible);
        if (visible) shown++;
      });
      count.textContent = shown + ' of ' + rows.length + ' lines';
    }
    boxes.forEach(function(b){ b.addEventListener('change', apply); });
    search.addEventListener('input', apply);
    errorsOnly.addEventListener('change', apply);
    apply();
    var svg = section.querySelector('svg.timeline');
    if (!svg) return;
    var t0 = +svg.dataset.t0, t1 = +svg.dataset.t1, left = +svg.dataset.left, right = +svg.dataset.right, width = +svg.dataset.width;
    var cursor = svg.querySelector('line.cursor');
    svg.addEventListener('click', function(ev){
      var rect = svg.getBoundingClientRect();
      var x = (ev.clientX - rect.left) / rect.width * width;
      var t = t0 + (Math.min(Math.max(x, left), right) - left) / (right - left) * (t1 - t0);
      cursor.setAttribute('x1', x); cursor.setAttribute('x2', x); cursor.setAttribute('visibility', 'visible');
      jump(t);
    });
    function jump(t){
      var target = null;
      for (var i = 0; i < rows.length; i++) {
        if (rows[i].classList.contains('hidden') || rows[i].dataset.t === '') continue;
        target = rows[i];
        if (+rows[i].dataset.t >= t) break;
      }
      rows.forEach(function(r){ r.classList.remove('hit'); });
      if (!target) return;
      target.classList.add('hit');
      box.scrollTop = Math.max(0, target.offsetTop - box.clientHeight / 3);
      section.dataset.jumpedTo = t.toFixed(3);
    }
  });
})();
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style></head>
<body>
<h1>{heading} <small>run {run_id}</small></h1>
<p>started {started} · {duration} · {counts}</p>
{summary}
{sections}
<footer>generated by xmtpd-e2e at {generated} · one self-contained file: no network needed</footer>
<script>{script}</script>
</body></html>
"""
