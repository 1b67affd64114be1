"""The HTML report of a run: one self-contained page per run (``--html``, ``xmtpd-e2e report``).

Everything on the page comes from the results JSON and the artifacts it points to, so a page can
be rendered at the end of a run or later from its results file.  Other commands that produce
results of the same shape (``explore``) call :func:`render_html` too.

Modules: :mod:`.model` (the page's data, read from results), :mod:`.logs` (service logs parsed
onto one clock), :mod:`.svg` (charts drawn as inline SVG), :mod:`.page` (HTML, CSS, script).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.report.model import RunView, load_run
from xmtpd_e2e.report.page import render_page

__all__ = ["render_html", "load_results_file", "RunView", "load_run"]


def render_html(
    results: Mapping[str, Any], output: Path, *, title: str | None = None, typical: Mapping[str, float] | None = None
) -> Path:
    """Write the page for ``results`` (a dict shaped like ``run --output-format json``) to
    ``output`` and return its path.

    Each scenario may carry ``timeline``, ``observations`` and ``service_logs`` (see the results
    schema); missing parts are left out of the page, which says what it lacks.
    """
    view = load_run(results, title=title, typical=typical)
    output = Path(output)
    text = render_page(view, output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise SetupError(
            f"cannot write the HTML report to {output}: {error.strerror or error}", "choose a writable path for --html"
        ) from error
    return output


def load_results_file(path: Path) -> dict[str, Any]:
    """A results JSON file, or a clear error saying what is wrong with it."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SetupError(
            f"no results file at {path}",
            "pass the file written by `xmtpd-e2e run --output-format json --output-file FILE`",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SetupError(f"cannot read {path}: {error}", "pass a readable results JSON file") from None
    except ValueError as error:
        raise SetupError(
            f"{path} is not JSON ({error})",
            "pass the file written by `xmtpd-e2e run --output-format json --output-file FILE`",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        raise SetupError(
            f"{path} is not an xmtpd-e2e results file (no 'scenarios' list)",
            "pass the file written by `xmtpd-e2e run --output-format json --output-file FILE`",
        )
    return data
