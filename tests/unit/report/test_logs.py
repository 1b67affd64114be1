"""Each service's timestamp format lands on one clock; untimed lines keep their neighbours' time."""

from __future__ import annotations

import calendar
import time

from xmtpd_e2e.report.logs import cap_log, interleave, omitted_lines, parse_log

T = calendar.timegm((2026, 11, 26, 10, 56, 29, 0, 0, 0))


def test_xmtpd_console_and_json_lines() -> None:
    lines = parse_log(
        "node-100",
        (
            "---- xmtpd-e2e: starting /bin/replication\n"
            "2026-11-26T10:56:29.665Z\tINFO\txmtpd\tversion: v1.2.0\n"
            '{"level":"warn","ts":1795690590.5,"msg":"slow"}\n'
            '{"level":"error","ts":"2026-11-26T10:56:31.250Z","msg":"boom"}\n'
            "\tcontinuation of the error\n"
        ),
    )
    assert [(round(line.time - T, 3) if line.time else None, line.level) for line in lines] == [
        (0.665, ""),
        (0.665, "INFO"),
        (round(1795690590.5 - T, 3), "WARN"),
        (2.25, "ERROR"),
        (2.25, ""),
    ]


def test_toxiproxy_redis_anvil_and_the_scenario_log() -> None:
    toxiproxy = parse_log("toxiproxy", '{"level":"info","time":"2026-11-26T10:56:29Z","message":"Started proxy"}\n')
    assert toxiproxy[0].time == T and toxiproxy[0].level == "INFO"
    redis = parse_log("redis", "13193:M 26 Nov 2026 10:56:29.379 * Ready to accept connections\n")
    assert redis[0].time == T + 0.379
    anvil = parse_log(
        "anvil", 'banner\neth_call\n    Block Time: "Thu, 26 Nov 2026 10:56:30 +0000"\neth_getTransactionReceipt\n'
    )
    assert [line.time for line in anvil] == [T + 1, T + 1, T + 1, T + 1]
    local = time.mktime((2026, 11, 26, 10, 56, 29, 0, 0, -1))
    scenario = parse_log("scenario", "2026-11-26 10:56:29,364 DEBUG xmtpd_e2e.scenario.x: starting anvil\n")
    assert scenario[0].time == local + 0.364 and scenario[0].level == "DEBUG"


def test_interleave_orders_by_time_then_keeps_each_log_in_order() -> None:
    merged = interleave(
        {
            "node-100": "2026-11-26T10:56:30.000Z\tINFO\ta\tsecond\n2026-11-26T10:56:30.000Z\tINFO\ta\tthird\n",
            "redis": "1:M 26 Nov 2026 10:56:29.500 * first\n",
        }
    )
    assert [line.text.rsplit(" ", 1)[-1].split("\t")[-1] for line in merged] == ["first", "second", "third"]


def test_cap_keeps_the_start_and_the_end_and_says_how_much_is_left_out() -> None:
    text = "".join(f"line {i}\n" for i in range(100))
    capped = cap_log(text, max_lines=20)
    lines = capped.splitlines()
    assert lines[0] == "line 0" and lines[-1] == "line 99" and len(lines) == 21
    assert omitted_lines(capped) == 80 and omitted_lines(text) == 0
