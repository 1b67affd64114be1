"""The built-in scenarios' metadata read from their source, without importing them.

Why: importing a scenario module imports the whole framework (the chain client alone brings web3
and eth_account, over a second of start-up), yet ``list`` and the choice of what ``run`` runs need
only each ``@scenario(...)`` call's literal arguments.  Those are read from the module's syntax
tree and registered through the same :func:`~xmtpd_e2e.runner.scenario.scenario` decorator (so
names, suites and requirements are checked the same way); the function registered is a stand-in
that imports the module when the scenario runs, and the module's own registration then replaces
the stand-in's.  A ``setup=`` argument (a function, never a literal) gets a stand-in of its own,
which imports the module the same way.  A module whose other decorator arguments are not plain
literals is imported instead.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.runner.scenario import REGISTRY, scenario

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment

__all__ = ["register_from_source"]


def _decorator_calls(tree: ast.Module) -> list[ast.Call] | None:
    """Every ``@scenario(...)`` call on a module-level function; None if one is not literal."""
    calls = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Name):
                if decorator.func.id == "scenario":
                    calls.append(decorator)
            elif isinstance(decorator, ast.Name) and decorator.id == "scenario":
                return None
    return calls


_LIGHT_PACKAGE = "xmtpd_e2e.runner."
"""Constants imported from here (the scenario API's own package, e.g. requirement names) are
resolved by importing their module: it imports nothing heavy."""
_LITERAL_TYPES = (str, int, float, bool, tuple, type(None))


def _constants(tree: ast.Module) -> dict[str, Any]:
    """Module-level ``NAME = <literal>`` assignments (descriptions may use them in f-strings) and
    literal constants imported from the scenario API's package."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(_LIGHT_PACKAGE):
            module = importlib.import_module(str(node.module))
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if isinstance(value, _LITERAL_TYPES):
                    found[alias.asname or alias.name] = value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return found


def _evaluate(node: ast.expr, constants: dict[str, Any]) -> Any:
    """A literal, a known constant, or a tuple or f-string of those; ValueError for anything else."""
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate(element, constants) for element in node.elts)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue) and part.conversion == -1 and part.format_spec is None:
                parts.append(str(_evaluate(part.value, constants)))
            elif isinstance(part, ast.Constant):
                parts.append(str(part.value))
            else:
                raise ValueError("not a plain f-string")
        return "".join(parts)
    return ast.literal_eval(node)


_SET_UP = "setup"
"""The one decorator argument that is code, not data: it is replaced by a stand-in."""


def _literal_arguments(call: ast.Call, constants: dict[str, Any]) -> tuple[list[Any], dict[str, Any]] | None:
    try:
        args = [_evaluate(arg, constants) for arg in call.args]
        kwargs = {
            kw.arg: _evaluate(kw.value, constants) for kw in call.keywords if kw.arg is not None and kw.arg != _SET_UP
        }
    except ValueError:
        return None
    if any(kw.arg is None for kw in call.keywords) or "registry" in kwargs:
        return None
    return args, kwargs


def _stand_in(module: str, name: str, part: str = "func") -> Callable[[Environment], None]:
    """Stands for the scenario's function (``part="func"``) or its set-up (``"setup"``)."""

    def run(env: Environment) -> None:
        importlib.import_module(module)
        info = REGISTRY.get(name)
        real = getattr(info, part, None)
        if real is None or real is run:
            raise SetupError(
                f"scenario {name!r} is declared in {module} but importing it registered no such scenario"
                + ("" if part == "func" else " with a setup"),
                f"check the @scenario decorator in {module}",
            )
        real(env)

    run.__module__ = module
    run.__qualname__ = run.__name__ = name.replace("-", "_") + ("" if part == "func" else f"_{part}")
    return run


def register_from_source(module: str, path: Path) -> bool:
    """Register ``module``'s scenarios from its source at ``path``; False if it must be imported."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False  # importing it reports the error the usual way
    calls = _decorator_calls(tree)
    if calls is None:
        return False
    constants = _constants(tree)
    parsed = [_literal_arguments(call, constants) for call in calls]
    if any(p is None for p in parsed):
        return False
    for call, (args, kwargs) in zip(calls, (p for p in parsed if p is not None), strict=True):
        name = args[0] if args else kwargs.get("name")
        if not isinstance(name, str):
            return False
        if any(kw.arg == _SET_UP for kw in call.keywords):
            kwargs[_SET_UP] = _stand_in(module, name, _SET_UP)
        scenario(*args, **kwargs)(_stand_in(module, name))
    return True
