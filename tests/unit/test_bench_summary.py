"""bench/RESULTS.md is tables and SVG charts drawn from the recorded results, not JSON dumps."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_summary_has_tables_and_charts_for_every_result_file(tmp_path: Path, monkeypatch: object) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import summary

        summary.CHARTS = tmp_path / "charts"
        out = summary.write_summary(BENCH / "results", tmp_path / "RESULTS.md")
    finally:
        sys.path.remove(str(BENCH))
    text = out.read_text()
    assert "```json" not in text
    assert "| nodes | local | docker |" in text and "![throughput](charts/throughput.svg)" in text
    for result in (BENCH / "results").glob("*.json"):
        assert f"`{result.stem}`" in text, result.stem  # every recorded file is cited
    charts = sorted(p.name for p in (tmp_path / "charts").glob("*.svg"))
    assert "throughput.svg" in charts and "bring-up.svg" in charts
    assert all((tmp_path / "charts" / c).read_text().startswith("<svg") for c in charts)
