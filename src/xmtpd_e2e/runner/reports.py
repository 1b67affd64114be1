"""Result formats: a human table, versioned JSON (see results.schema.json), JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources
from typing import Any

from rich.console import Console
from rich.table import Table

from xmtpd_e2e.runner.results import RunResult, Status

__all__ = ["render_human", "render_json", "render_junit", "results_schema", "FORMATS"]

FORMATS = ("human", "json", "junit")
_STYLE = {
    Status.PASS: "green",
    Status.FAIL: "red",
    Status.ERROR: "red",
    Status.TIMEOUT: "red",
    Status.INTERRUPTED: "yellow",
    Status.SETUP_ERROR: "magenta",
}


def results_schema() -> dict[str, Any]:
    return dict(json.loads(resources.files("xmtpd_e2e.runner").joinpath("results.schema.json").read_text()))


def render_json(result: RunResult) -> str:
    return json.dumps(result.as_dict(), indent=2, default=str)


def render_human(result: RunResult, console: Console) -> None:
    table = Table(title=f"xmtpd-e2e results (run {result.run_id})", title_justify="left")
    table.add_column("scenario")
    table.add_column("status")
    table.add_column("duration", justify="right")
    table.add_column("details", overflow="fold")
    for scenario in result.scenarios:
        details = scenario.error or ""
        if scenario.teardown_error:
            details += f"\n(teardown: {scenario.teardown_error})"
        if scenario.artifacts:
            details += f"\nartifacts: {scenario.artifacts[0].rsplit('/', 1)[0] if scenario.artifacts else ''}"
        table.add_row(
            scenario.name,
            f"[{_STYLE[scenario.status]}]{scenario.status.value}[/]",
            f"{scenario.duration_seconds:.1f}s",
            details.strip(),
        )
    console.print(table)
    counts = result.counts()
    failed = sum(v for k, v in counts.items() if k != "PASS")
    # The plain "N passed, N failed" line CI systems read as the verdict.
    # Anything but a plain FAIL is named too, so "1 failed" never hides a timeout or a setup error.
    detail = ", ".join(
        f"{n} {k.lower().replace('_', ' ')}" for k, n in counts.items() if n and k not in ("PASS", "FAIL")
    )
    console.print(f"{counts['PASS']} passed, {failed} failed" + (f" ({detail})" if detail else ""), highlight=False)


def render_junit(result: RunResult) -> str:
    counts = result.counts()
    suite = ET.Element(
        "testsuite",
        {
            "name": "xmtpd-e2e",
            "tests": str(len(result.scenarios)),
            "failures": str(counts["FAIL"]),
            "errors": str(counts["ERROR"] + counts["TIMEOUT"] + counts["SETUP_ERROR"] + counts["INTERRUPTED"]),
            "time": f"{sum(s.duration_seconds for s in result.scenarios):.3f}",
        },
    )
    for scenario in result.scenarios:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": "xmtpd_e2e.scenarios", "name": scenario.name, "time": f"{scenario.duration_seconds:.3f}"},
        )
        if scenario.status is Status.FAIL:
            failure = ET.SubElement(case, "failure", {"message": scenario.error or "", "type": "CheckFailed"})
            failure.text = scenario.traceback or scenario.error or ""
        elif scenario.status is not Status.PASS:
            error = ET.SubElement(case, "error", {"message": scenario.error or "", "type": scenario.status.value})
            error.text = scenario.traceback or scenario.error or ""
        out = [f"log: {scenario.log_file}"] if scenario.log_file else []
        out += [f"artifact: {a}" for a in scenario.artifacts]
        if out:
            ET.SubElement(case, "system-out").text = "\n".join(out)
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
