"""One ``xmtpd-e2e explore`` invocation: its settings, the runs, records, shrinking, exit code.

Split from the command so each step is a function a screen long: the command checks input, this
runs it.  A replayed record brings the settings it ran with (:data:`REPLAYED_SETTINGS`); an option
given on the command line overrides the recorded value.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from xmtpd_e2e.cli.explore_output import emit
from xmtpd_e2e.cli.run_settings import run_config

if TYPE_CHECKING:
    from xmtpd_e2e.config import RunConfig
    from xmtpd_e2e.explore.execute import Exploration
    from xmtpd_e2e.explore.schedule import Schedule

__all__ = ["ExploreSession", "REPLAYED_SETTINGS", "exit_code_of"]

stderr = Console(stderr=True, soft_wrap=True)

REPLAYED_SETTINGS = (
    "runtime",
    "image_set",
    "xmtpd_version",
    "slow_seconds",
    "grace_seconds",
    "convergence_timeout",
    "recovery_budgets",
)
"""What a record carries besides its plan and what a replay takes from it."""


def exit_code_of(exploration: Exploration) -> int | None:
    """The process's exit code if this run ends the session: 2 setup error, 128 + N signal N."""
    if exploration.status == "SETUP_ERROR":
        return 2
    if exploration.status == "INTERRUPTED":
        name = exploration.interrupted_by or "SIGINT"
        return 128 + int(signal.Signals[name]) if name in signal.Signals.__members__ else 130
    return None


def _recovery_lines(exploration: Exploration) -> list[str]:
    recoveries = exploration.history.recoveries if exploration.history is not None else []
    return [
        f"{r.kind} on {r.target}: every node had the {r.acknowledged} acknowledged envelopes "
        + (f"{r.seconds:g}s after the heal" if r.seconds is not None else "never within the run")
        + (f", every reader {r.reader_seconds:g}s" if r.reader_seconds is not None else "")
        for r in recoveries
    ]


class ExploreSession:
    def __init__(
        self,
        cli_state: Mapping[str, Any],
        params: dict[str, Any],
        command: str,
        replays: list[tuple[Path, Schedule, dict[str, Any]]] | None,
        explicit: set[str],
    ) -> None:
        self.cli_state = cli_state
        self.params = params
        self.command = command
        self.replays = replays
        self.explicit = explicit
        """Options given on the command line or in the environment (they beat recorded settings)."""
        self.schedules: list[Schedule] = []
        self.summary: dict[str, Any] = {"command": command, "runs": []}
        self._configs: dict[tuple[str, str, str], RunConfig] = {}

    # -- settings ------------------------------------------------------------------------------
    def settings(self, recorded: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The settings a run uses: the options, with a replayed record's for those not given."""
        settings = {name: self.params.get(name) for name in REPLAYED_SETTINGS}
        for name, value in (recorded or {}).items():
            if name in REPLAYED_SETTINGS and name not in self.explicit:
                settings[name] = value
        settings["recovery_budgets"] = dict(settings.get("recovery_budgets") or {})
        return settings

    def config(self, settings: Mapping[str, Any]) -> RunConfig:
        key = (str(settings["runtime"]), str(settings["image_set"]), str(settings["xmtpd_version"]))
        if key not in self._configs:
            p = self.params
            self._configs[key] = run_config(
                self.cli_state,
                runtime=key[0],
                image_set=key[1],
                xmtpd_version=key[2],
                image_overrides={"xmtpd": p["xmtpd_image"], "gateway": p["gateway_image"]},
                xmtpd_bin=p["xmtpd_bin"],
                gateway_bin=p["gateway_bin"],
                mls_validation_bin=p.get("mls_validation_bin"),
                mls_validation_image=p.get("mls_validation_image"),
                postgres_dsn=p["postgres_dsn"],
                artifacts=p["artifacts"],
                artifacts_always=bool(p.get("artifacts_always", False)),
                say=lambda line: stderr.print(line, highlight=False),
            )
        return self._configs[key]

    def generation(self) -> dict[str, Any]:
        p = self.params
        kinds = p["fault_kinds"]
        return {
            "duration": p["duration"],
            "nodes": p["nodes"],
            "gateways": p["gateways"],
            "faults": list(kinds) if kinds is not None else "all",
            "max_publishers": p["max_publishers"],
            "max_concurrent_publishers_per_node": p["per_node"],
            "node_env": p["node_env"],
            "readers": p["readers"],
            "users": p["users"],
        }

    # -- running -------------------------------------------------------------------------------
    def execute(self, schedule: Schedule, label: str, settings: Mapping[str, Any]) -> Exploration:
        from xmtpd_e2e.explore.checker import CheckOptions
        from xmtpd_e2e.explore.execute import ExecutionOptions, explore_once

        stderr.print(f"[bold]▶ {label}[/]: seed {schedule.seed}, " + "; ".join(schedule.describe()[:1]))
        outcome = explore_once(
            self.config(settings),
            schedule,
            check_options=CheckOptions(
                grace_seconds=float(settings["grace_seconds"]),
                slow_seconds=float(settings["slow_seconds"]),
                recovery_budgets=dict(settings["recovery_budgets"]),
            ),
            execution=ExecutionOptions(
                convergence_timeout=float(settings["convergence_timeout"]),
                recovery_budgets=dict(settings["recovery_budgets"]),
            ),
        )
        color = "green" if outcome.status == "PASS" else "red"
        kinds_found = ", ".join(sorted(outcome.verdict.kinds())) if outcome.verdict else outcome.error
        stderr.print(
            f"[{color}]■ {outcome.status}[/] in {outcome.duration_seconds:.0f}s "
            f"(load average {outcome.load_average[0]:g} → {outcome.load_average[1]:g})"
            + (f": {kinds_found}" if outcome.status != "PASS" else "")
        )
        return outcome

    def run(self) -> int:
        """Every run, in order; the exit code."""
        if self.params["regression"]:
            from xmtpd_e2e.cli.explore_regression import run_regression

            return run_regression(self)
        if self.replays is not None:
            path, schedule, recorded = self.replays[0]
            settings = {**self.settings(recorded), "replayed_from": str(path), "recorded_settings": recorded}
            plans = [(schedule, settings)]
        else:
            settings = {**self.settings(), "generation": self.generation()}
            plans = [(schedule, settings) for schedule in self.schedules]
        refusal = self.refusal(plans)
        if refusal is not None:
            stderr.print(f"[bold red]setup error:[/] {refusal}")
            return 2
        code = 0
        for schedule, settings in plans:
            exploration = self.execute(schedule, "replay" if self.replays else "explore", settings)
            entry = self.record(exploration, settings)
            ends = exit_code_of(exploration)
            if ends is not None:
                self.emit()
                if ends == 2:
                    stderr.print(f"[bold red]setup error:[/] {exploration.error}")
                return ends
            if exploration.status == "PASS":
                continue
            code = 1
            self.maybe_shrink(exploration, entry, settings)
            break
        self.emit()
        return code

    def refusal(self, plans: list[tuple[Schedule, dict[str, Any]]]) -> str | None:
        """Why this run cannot run a plan with real users (no validation service, no libxmtp),
        said before anything starts or is written, as ``run`` refuses a scenario; else None."""
        from xmtpd_e2e.runner.requirements import MLS_VALIDATION, XMTP_USERS, unmet_requirement

        for schedule, settings in plans:
            if not schedule.users:
                continue
            what = f"explore with {len(schedule.users)} users (seed {schedule.seed})"
            problem = unmet_requirement(what, (MLS_VALIDATION, XMTP_USERS), self.config(settings))
            if problem is not None:
                return str(problem)
        return None

    def record(self, exploration: Exploration, settings: Mapping[str, Any], suffix: str = "") -> dict[str, Any]:
        from xmtpd_e2e.explore.replay import record_of, write_record

        record = record_of(exploration, command=self.command, settings=settings)
        name = f"explore-{exploration.schedule.seed}{suffix}.json"
        path = write_record(self.params["record_dir"] / name, record)
        entry: dict[str, Any] = {
            "seed": exploration.schedule.seed,
            "status": exploration.status,
            "record": str(path),
            "verdict": record["verdict"],
            "error": exploration.error,
            "run_id": exploration.run_id,
            "artifacts": exploration.artifacts,
            "load_average": list(exploration.load_average),
            "recovery_lines": _recovery_lines(exploration),
        }
        self.summary["runs"].append(entry)
        return entry

    def maybe_shrink(self, exploration: Exploration, entry: dict[str, Any], settings: Mapping[str, Any]) -> None:
        wanted = self.params["shrink_for"]
        found = exploration.verdict.kinds() if exploration.verdict is not None else set()
        if exploration.failed and wanted and not found & set(wanted):
            stderr.print(f"not shrinking: this run showed {', '.join(sorted(found))}, none of --shrink-for")
        elif exploration.failed and not self.params["no_shrink"]:
            from xmtpd_e2e.cli.explore_shrinking import shrink_and_record

            shrink_and_record(self, exploration, entry, settings)

    def emit(self) -> None:
        emit(self.summary, self.params["output_format"], self.params["output_file"])
