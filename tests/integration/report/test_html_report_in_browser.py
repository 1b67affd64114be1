"""The HTML report of a real failed chaos run, opened in a real headless Chromium.

Checks what a person sees: the headline names the node that fell behind and the fault, the
timeline is drawn with its fault window, the service filter and the search narrow the logs,
and clicking the timeline scrolls the logs to that moment.  Needs Debian's ``chromium`` and the
``playwright`` package (its own browser download is not used).

``XMTPD_E2E_REPORT_SCREENSHOT=docs/report-screenshot.png`` also saves the picture the README
shows (the top of the page: summary, headline and timeline).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runs import cli, run_arguments

MODULE = Path(__file__).with_name("lagging_node_scenario.py")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("report")
    page = folder / "report.html"
    run = cli(*run_arguments(["chaos-partition-deaf-node"], folder, scenarios=MODULE), "--html", str(page))
    assert run.returncode == 1, run.stderr[-3000:]
    return page, json.loads((folder / "result.json").read_text())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Debian's chromium is needed for this test: apt-get install chromium (set-up installs it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


def test_a_failed_chaos_run_shows_who_fell_behind_during_which_fault(
    report: tuple[Path, dict[str, Any]],
    browser: Any,
    tmp_path: Path,
) -> None:
    path, results = report
    scenario = results["scenarios"][0]
    assert scenario["status"] == "FAIL" and "node 300 is missing" in scenario["error"]
    assert path.stat().st_size < 3_000_000

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())

    # The picture a person sees first (before any filtering or clicking): headline and timeline.
    shot = tmp_path / "report.png"
    top, bottom = page.evaluate("""() => [
        document.querySelector('section.scenario').getBoundingClientRect().top + window.scrollY,
        document.querySelector('.legend').getBoundingClientRect().bottom + window.scrollY]""")
    page.screenshot(path=str(shot), full_page=True, clip={"x": 0, "y": top, "width": 1280, "height": bottom - top + 8})
    target = os.environ.get("XMTPD_E2E_REPORT_SCREENSHOT")
    if target:
        shutil.copyfile(shot, target)

    headline = page.locator("ul.headline").inner_text()
    assert "node-300 fell behind" in headline and "still" in headline, headline
    assert "node-200 fell behind" in headline and "during disconnect node-100" in headline, headline
    assert "caught up by" in headline, headline

    timeline = page.locator("svg.timeline")
    assert timeline.is_visible()
    box = timeline.bounding_box()
    assert box and box["width"] > 800 and box["height"] > 200
    window = page.locator("svg.timeline rect.fault-window")
    assert window.count() == 1 and window.get_attribute("data-fault") == "disconnect node-100"
    assert page.locator("svg.timeline polyline.series").count() >= 6  # envelopes and lag of 3 nodes

    count = page.locator(".count")
    total = int(count.inner_text().split(" of ")[1].split()[0])
    for checkbox in page.locator(".services input").all():
        label = checkbox.locator("xpath=..").inner_text().strip()
        if label != "node-300":
            checkbox.uncheck()
    visible = page.locator(".logs .row:not(.hidden) .s")
    shown = visible.count()
    assert 0 < shown < total
    assert set(visible.all_inner_texts()) == {"node-300"}
    page.fill("input.search", "started api server")
    assert page.locator(".logs .row:not(.hidden)").count() >= 1
    assert all("started api server" in t for t in page.locator(".logs .row:not(.hidden) .m").all_inner_texts())
    page.fill("input.search", "")
    for checkbox in page.locator(".services input").all():
        checkbox.check()

    logs = page.locator(".logs")
    logs.evaluate("box => { box.scrollTop = 0; }")
    timeline.scroll_into_view_if_needed()
    box, window_box = timeline.bounding_box(), window.bounding_box()
    assert box and window_box
    page.mouse.click(window_box["x"] + window_box["width"] / 2, box["y"] + box["height"] - 20)
    assert logs.evaluate("box => box.scrollTop") > 0
    hit = page.locator(".logs .row.hit")
    assert hit.count() == 1 and hit.is_visible()
    fault = next(e for e in scenario["timeline"] if e["kind"] == "fault")
    assert fault["start"] - 1 <= float(hit.get_attribute("data-t") or 0) <= fault["end"] + 1
    assert errors == [] and all(url.startswith("file:") for url in requests), (errors, requests)
