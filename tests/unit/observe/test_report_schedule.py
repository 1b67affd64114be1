from datetime import datetime, timezone

from xmtpd_e2e.observe.report_schedule import GENERATOR, SETTLEMENT, SUBMITTER, next_firing, worker_minute


def test_minutes_match_the_documented_table() -> None:
    table = {100: (31, 36, 41), 200: (47, 52, 57), 300: (2, 7, 12), 400: (18, 23, 28), 500: (33, 38, 43)}
    for node_id, minutes in table.items():
        assert (
            worker_minute(node_id, GENERATOR),
            worker_minute(node_id, SUBMITTER),
            worker_minute(node_id, SETTLEMENT),
        ) == minutes


def test_next_firing_rolls_over_to_the_next_hour() -> None:
    after = datetime(2026, 1, 1, 10, 40, 5, tzinfo=timezone.utc)
    assert next_firing(100, after) == datetime(2026, 1, 1, 11, 31, tzinfo=timezone.utc)
    assert next_firing(200, after) == datetime(2026, 1, 1, 10, 47, tzinfo=timezone.utc)
