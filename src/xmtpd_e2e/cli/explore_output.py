"""What ``xmtpd-e2e explore`` prints at the end: a JSON summary or lines for a person."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

__all__ = ["emit"]


def emit(summary: dict[str, Any], output_format: str, output_file: Path | None) -> None:
    if output_format == "json":
        text = json.dumps(summary, indent=2, default=str)
        if output_file:
            output_file.write_text(text + "\n")
        else:
            click.echo(text)
        return
    console = Console(file=output_file.open("w"), width=160) if output_file else Console(soft_wrap=True)
    for run in summary["runs"]:
        verdict = run["verdict"]
        console.print(f"[bold]seed {run['seed']}[/]: {run['status']}  record: {run['record']}")
        if run.get("error") and run["status"] not in ("PASS", "FAIL"):
            console.print(f"  error: {escape(str(run['error']))}")
        if verdict:
            stats = verdict["stats"]
            console.print(
                f"  operations {stats['operations']}, acknowledged envelopes "
                f"{stats['acknowledged_envelopes']}, faults {stats['faults']}, nodes checked "
                f"{stats['nodes_checked']}, publish latency p50 {stats['publish_latency_p50']}s "
                f"max {stats['publish_latency_max']}s"
            )
            if "user_sends" in stats:
                caught_up = stats["users_caught_up_seconds"]
                console.print(
                    f"  users {stats['user_members']}: sends {stats['user_sends']}, deliveries "
                    f"{stats['user_deliveries']}, every member had every acknowledged text "
                    + (f"{caught_up}s after the heal" if caught_up is not None else "never within the run")
                )
            for violation in verdict["violations"]:
                console.print(f"  [red]{violation['kind']}[/]: {escape(violation['message'])}")
            for note in verdict["notes"]:
                console.print(f"  note: {escape(note)}")
        for line in run.get("recovery_lines", []):
            console.print(f"  recovery: {escape(line)}")
        shrunk = run.get("shrink")
        if shrunk:
            accepted = "; ".join(shrunk["accepted"]) or "no smaller schedule still failed"
            console.print(f"  shrunk in {shrunk['runs']} runs ({accepted}) to:")
            for line in shrunk["minimal_schedule"]:
                console.print(f"    {escape(line)}")
            for violation in shrunk["minimal_verdict"]["violations"]:
                console.print(f"    [red]{violation['kind']}[/]: {escape(violation['message'])}")
            console.print(
                f"  minimal record: {shrunk['record']}  (replay: xmtpd-e2e explore --replay {shrunk['record']})"
            )
            console.print(f"  scenario module: {shrunk['scenario_module']}")
    for finding in summary.get("regression", []):
        shown = f"{finding.get('reproduced', '?')} of {finding.get('of', len(finding['runs']))}"
        console.print(f"[bold]{finding['finding']}[/] ({finding['kind']}): reproduced in {shown} replays")
    if output_file:
        console.file.close()
