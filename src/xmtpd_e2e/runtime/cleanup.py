"""Removing what a run recorded in its state file: for ``xmtpd-e2e cleanup`` after a crash.

Works from the record alone (the run's process may be long gone): process groups by pgid
(checked against the recorded start time so a recycled pid is never killed), Docker containers
and networks by name and by the ``xmtpd-e2e.run`` label, databases by name, directories.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time

from xmtpd_e2e.runner.state import RunState
from xmtpd_e2e.runtime.local import process_alive, process_start_time, processes_of_run

__all__ = ["remove_resources", "finish_run", "RUN_LABEL"]

RUN_LABEL = "xmtpd-e2e.run"


def _kill_group(pgid: int, start_time: str | None) -> None:
    if start_time is not None and process_start_time(pgid) not in (None, start_time):
        return  # the pid now belongs to another process
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and process_alive(pgid):
            time.sleep(0.05)


def _remove_docker(state: RunState, logger: logging.Logger) -> list[str]:
    import docker
    from docker.errors import DockerException, NotFound

    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except DockerException as error:
        return [f"no Docker engine answers, cannot remove the run's containers/networks ({error})"]
    problems: list[str] = []
    containers = {c.name: c for c in client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={state.run_id}"})}
    for resource in state.resources("container"):
        if resource.ident not in containers:
            try:
                containers[resource.ident] = client.containers.get(resource.ident)
            except NotFound:
                state.forget("container", resource.ident)
    for name, container in containers.items():
        try:
            container.remove(force=True)
            state.forget("container", name)
        except NotFound:
            state.forget("container", name)
        except DockerException as error:
            problems.append(f"container {name}: {error}")
    networks = {n.name: n for n in client.networks.list(filters={"label": f"{RUN_LABEL}={state.run_id}"})}
    for resource in state.resources("network"):
        if resource.ident not in networks:
            found = client.networks.list(names=[resource.ident])
            if found:
                networks[resource.ident] = found[0]
            else:
                state.forget("network", resource.ident)
    for name, network in networks.items():
        try:
            network.remove()
            state.forget("network", name)
        except NotFound:
            state.forget("network", name)
        except DockerException as error:
            problems.append(f"network {name}: {error}")
    client.close()
    logger.debug("docker resources of %s removed", state.run_id)
    return problems


def remove_resources(state: RunState, *, logger: logging.Logger) -> list[str]:
    """Remove every resource recorded for the run; returns problems (empty = all gone)."""
    problems: list[str] = []
    for resource in state.resources("process"):
        pgid = int(resource.details.get("pgid", 0))
        if pgid > 0:
            _kill_group(pgid, resource.details.get("start_time"))
        if pgid <= 0 or not process_alive(pgid):
            state.forget("process", resource.ident)
        else:
            problems.append(f"process group {pgid} ({resource.ident}) survived SIGKILL")
    for pid in processes_of_run(state.run_id):  # started but never recorded (runner killed between)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    if state.resources("container") or state.resources("network") or _docker_answers():
        problems += [p for p in _remove_docker(state, logger) if state.resources("container") or state.resources("network")]
    for resource in state.resources("database"):
        try:
            import psycopg

            with psycopg.connect(str(resource.details["dsn"]), autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{resource.ident}" WITH (FORCE)')
            state.forget("database", resource.ident)
        except Exception as error:
            problems.append(f"database {resource.ident}: {error}")
    for resource in state.resources("directory"):
        shutil.rmtree(resource.ident, ignore_errors=True)
        state.forget("directory", resource.ident)
    return problems


def _docker_answers() -> bool:
    from xmtpd_e2e.runtime.selection import docker_engine_answers

    return docker_engine_answers()


def finish_run(state: RunState, *, logger: logging.Logger) -> list[str]:
    """End a live run's record: remove whatever it still names, then the record itself.

    How the runner and the pytest fixture end, so a resource recorded while an environment was
    half-built, or one a failed teardown missed, is never left behind.  Only what the record names
    is searched for (a normal end has nothing else); ``xmtpd-e2e cleanup`` after a crash calls
    :func:`remove_resources` directly, which also looks for unrecorded processes and labels.
    The record stays (and problems are returned) only if something could not be removed.
    """
    problems: list[str] = []
    leftover = state.resources()
    if leftover:
        logger.warning("removing %d resource(s) no teardown reached: %s", len(leftover),
                       ", ".join(f"{r.kind} {r.ident}" for r in leftover))
        problems = remove_resources(state, logger=logger)
    if not state.resources():
        state.discard()
    return problems
