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
import sys
import traceback
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.runner.scenario import REGISTRY, Registry

__all__ = ["load_scenarios", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "xmtpd_e2e.scenarios"


def _import(name: str) -> None:
    try:
        path = Path(name)
        if name.endswith(".py") and path.is_file():
            module_name = f"xmtpd_e2e_user_{path.stem}"
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        else:
            importlib.import_module(name)
    except SetupError:
        raise
    except Exception as error:
        last = traceback.format_exception_only(error)[-1].strip()
        raise SetupError(
            f"scenario module {name!r} failed to import: {last}",
            "fix the module (run `python -c 'import " + name + "'` to see the full traceback) "
            "or leave it out of --scenarios",
        ) from error


def load_scenarios(extra_modules: Iterable[str] = ()) -> Registry:
    import xmtpd_e2e.scenarios as catalogue

    found = [m.name for m in pkgutil.iter_modules(catalogue.__path__)]
    ordered = [n for n in catalogue.CATALOGUE_ORDER if n in found] + sorted(set(found) - set(catalogue.CATALOGUE_ORDER))
    for name in ordered:
        _import(f"{catalogue.__name__}.{name}")
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        _import(entry.value.split(":")[0])
    for name in extra_modules:
        _import(name)
    return REGISTRY
