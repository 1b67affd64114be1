"""Scenarios registered from their source match the imported ones, and run the real function."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from xmtpd_e2e.runner.scenario import REGISTRY
from xmtpd_e2e.runner.static_catalogue import register_from_source

_CATALOGUE = """
import json, sys
from xmtpd_e2e.runner.discovery import load_scenarios
registry = load_scenarios(from_source={from_source})
print(json.dumps({{
    "scenarios": [
        [s.name, s.description, list(s.suites), s.typical_seconds, s.invariants_skipped, s.timeout_seconds,
         s.module, list(s.requires), s.setup is not None]
        for s in registry
    ],
    "heavy": sorted(m for m in ("web3", "eth_account", "psycopg", "requests") if m in sys.modules),
}}))
"""


def _catalogue(from_source: bool) -> dict[str, list[object]]:
    code = _CATALOGUE.format(from_source=from_source)
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return dict(json.loads(output))


def test_the_built_in_catalogue_from_source_is_the_imported_one_without_its_imports() -> None:
    from_source, imported = _catalogue(True), _catalogue(False)
    assert from_source["scenarios"] == imported["scenarios"]
    assert from_source["heavy"] == [], "reading the catalogue imported the framework's heavy dependencies"


def _module(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_the_stand_in_imports_the_module_and_runs_its_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _module(
        tmp_path,
        "h5_static_probe",
        """
        from xmtpd_e2e.runner.scenario import scenario
        SIZE = 7
        RAN = []

        @scenario("h5-static-probe", f"{SIZE} nodes", typical_seconds=3)
        def probe(env):
            RAN.append(env)
        """,
    )
    try:
        assert register_from_source("h5_static_probe", path)
        info = REGISTRY.get("h5-static-probe")
        assert info is not None and info.description == "7 nodes" and "h5_static_probe" not in sys.modules
        info.run("the env")  # type: ignore[arg-type]
        assert sys.modules["h5_static_probe"].RAN == ["the env"]
        real = REGISTRY.get("h5-static-probe")
        assert real is sys.modules["h5_static_probe"].probe  # the module's own registration replaced it
    finally:
        sys.modules.pop("h5_static_probe", None)
        REGISTRY._items.pop("h5-static-probe", None)


def test_a_set_up_gets_a_stand_in_that_imports_the_module_and_runs_the_real_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _module(
        tmp_path,
        "h5_static_set_up",
        """
        from xmtpd_e2e.runner.scenario import scenario
        BUILT = []

        def build(size):
            return lambda env: BUILT.append((env, size))

        @scenario("h5-static-set-up", "set up, then run", setup=build(3))
        def probe(env):
            BUILT.append("ran")
        """,
    )
    try:
        assert register_from_source("h5_static_set_up", path)
        info = REGISTRY.get("h5-static-set-up")
        assert info is not None and info.setup is not None and "h5_static_set_up" not in sys.modules
        info.set_up("the env")  # type: ignore[arg-type]
        info.run("the env")  # type: ignore[arg-type]
        assert sys.modules["h5_static_set_up"].BUILT == [("the env", 3), "ran"]
    finally:
        sys.modules.pop("h5_static_set_up", None)
        REGISTRY._items.pop("h5-static-set-up", None)


def test_a_decorator_with_computed_arguments_is_left_to_importing(tmp_path: Path) -> None:
    path = _module(
        tmp_path,
        "h5_computed",
        """
        from xmtpd_e2e.runner.scenario import scenario

        @scenario("h5-computed", "x".upper())
        def probe(env):
            pass
        """,
    )
    assert not register_from_source("h5_computed", path)
    assert REGISTRY.get("h5-computed") is None
