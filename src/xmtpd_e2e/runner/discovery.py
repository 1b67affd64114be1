"""Finding scenarios: the built-in catalogue, installed plugins, and modules a user names.

* built-in: every module of :mod:`xmtpd_e2e.scenarios`;
* plugins: modules listed under the ``xmtpd_e2e.scenarios`` entry-point group;
* ``--scenarios MODULE``: a dotted module name or a path to a ``.py`` file.

Importing a module runs its ``@scenario`` decorators, which register into :data:`REGISTRY`.
A module that fails to import is a setup error naming the module and the cause.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import shlex
import sys
import traceback
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.runner.scenario import REGISTRY, Registry

__all__ = ["load_scenarios", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "xmtpd_e2e.scenarios"


def _looks_like_path(name: str) -> bool:
    return name.endswith(".py") or "/" in name or name.startswith(".")


def _import(name: str) -> None:
    if _looks_like_path(name):
        _import_file(Path(name))
        return
    try:
        importlib.import_module(name)
    except SetupError:
        raise
    except ModuleNotFoundError as error:
        if error.name is not None and (name == error.name or name.startswith(error.name + ".")):
            raise SetupError(
                f"scenario module {name!r} was not found (no module named {error.name!r} on the Python path)",
                "give a .py file path instead, or make the package importable "
                "(install it, or run from the directory above it, or add that directory to PYTHONPATH)",
            ) from error
        raise _import_failed(f"scenario module {name!r}", error, None, f"{_python()} -c 'import {name}'") from error
    except Exception as error:
        raise _import_failed(f"scenario module {name!r}", error, None, f"{_python()} -c 'import {name}'") from error


def _import_file(path: Path) -> None:
    if not path.is_file():
        where = "is a directory, not a .py file" if path.is_dir() else "does not exist"
        raise SetupError(
            f"scenario file {path} {where} (looked in {path.resolve().parent})",
            "give the path of a .py file that defines @scenario functions",
        )
    module_name = f"xmtpd_e2e_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SetupError(f"scenario file {path} cannot be loaded as a Python module", "give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SetupError:
        raise
    except Exception as error:
        sys.modules.pop(module_name, None)
        raise _import_failed(f"scenario file {path}", error, path, f"{_python()} {shlex.quote(str(path))}") from error


def _python() -> str:
    """This interpreter, by path: a bare ``python`` may lack xmtpd_e2e or be absent."""
    return shlex.quote(sys.executable)


def _import_failed(what: str, error: BaseException, path: Path | None, command: str) -> SetupError:
    """A SetupError naming the file and line where importing failed, and a command that shows it all."""
    if isinstance(error, SyntaxError) and error.filename:
        where = f"{error.filename}, line {error.lineno}"
        cause = f"SyntaxError: {error.msg}"
    else:
        frames = traceback.extract_tb(error.__traceback__)
        own = [f for f in frames if path is not None and Path(f.filename).resolve() == path.resolve()]
        outside_importlib = [f for f in frames if "importlib" not in f.filename and "<frozen" not in f.filename]
        candidates = own or outside_importlib or frames
        where = f"{candidates[-1].filename}, line {candidates[-1].lineno}" if candidates else "unknown location"
        cause = traceback.format_exception_only(error)[-1].strip()
    return SetupError(
        f"{what} failed to import: {cause} ({where})",
        f"fix that line (`{command}` shows the whole traceback), or leave it out of --scenarios",
    )


def builtin_scenario_modules() -> list[tuple[str, Path]]:
    """The catalogue's modules in catalogue order, each with its source file."""
    import xmtpd_e2e.scenarios as catalogue

    found = {m.name: m for m in pkgutil.iter_modules(catalogue.__path__)}
    ordered = [n for n in catalogue.CATALOGUE_ORDER if n in found] + sorted(set(found) - set(catalogue.CATALOGUE_ORDER))
    return [
        (f"{catalogue.__name__}.{name}", Path(str(getattr(found[name].module_finder, "path", ""))) / f"{name}.py")
        for name in ordered
    ]


def load_scenarios(extra_modules: Iterable[str] = (), *, from_source: bool = False) -> Registry:
    """Load every scenario.  ``from_source``: the built-in ones from their source, imported only
    when they run (:mod:`.static_catalogue`; what ``list`` and ``run`` need to start fast), except
    modules already imported (a ``--parallel`` worker's fork server imported them): their own
    registration stands."""
    from xmtpd_e2e.runner.static_catalogue import register_from_source

    for module, source in builtin_scenario_modules():
        if module in sys.modules:
            continue
        if from_source and source.is_file() and register_from_source(module, source):
            continue
        _import(module)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        _import(entry.value.split(":")[0])
    for name in extra_modules:
        _import(name)
    return REGISTRY
