"""The read checker on hand-made histories: a valid one passes, each read anomaly is caught with its
evidence, and each reader's lag behind each originator is measured."""

from __future__ import annotations

from dataclasses import replace

from xmtpd_e2e.explore.checker import Verdict, check
from xmtpd_e2e.explore.history import Delivery, History, Read
from xmtpd_e2e.timeline import TimelineEvent

from .test_checker import STORED, T0, VALID, final, node

# VALID acknowledges a, b (100:1, 100:2) at 0.1 s, c (100:3) at 1.1 s and d (200:1) at 1.1 s.
ALL = final(node(100, STORED), node(200, STORED))


def got(at: float, originator: int, sequence: int, topic: str, digest: str = "") -> Delivery:
    return (T0 + at, originator, sequence, topic, digest or f"{topic}-payload")


def read(
    read_id: int,
    deliveries: list[Delivery],
    *,
    invoke: float = 2.0,
    complete: float = 2.5,
    cursor: dict[int, int] | None = None,
    kind: str = "query-originators",
    originators: list[int] | None = None,
    topics: list[str] | None = None,
    limit: int = 100,
    process: str = "r0",
    node_alias: str = "node-200",
) -> Read:
    return Read(
        read_id,
        process,
        node_alias,
        kind,
        T0 + invoke,
        cursor or {},
        originators if originators is not None else [100, 200],
        topics or [],
        limit,
        T0 + complete,
        "ok",
        deliveries,
    )


EVERYTHING = [got(2.1, 100, 1, "a"), got(2.1, 100, 2, "b"), got(2.2, 100, 3, "c"), got(2.2, 200, 1, "d")]


def reading(*reads: Read, healed: float = 61) -> History:
    return replace(VALID, reads=list(reads), healed_at=T0 + healed)


def violation(verdict: Verdict, kind: str) -> list[list[object]]:
    found = [v for v in verdict.violations if v.kind == kind]
    assert len(found) == 1, verdict.violations
    examples = found[0].details["examples"]
    assert isinstance(examples, list)
    return examples


def test_valid_reads_pass_and_the_lag_is_measured() -> None:
    paged = [
        read(1, EVERYTHING[:2], limit=2),
        read(2, EVERYTHING[2:], cursor={100: 2}, invoke=2.3, complete=2.4),
        read(3, [got(1.5, 100, 3, "c")], kind="query-topics", originators=[], topics=["c"]),
        read(4, [*EVERYTHING], kind="subscribe", limit=0, invoke=0, complete=62, process="s0"),
        read(5, EVERYTHING[:3], invoke=61.2, complete=61.6, originators=[100], process="after-heal"),
    ]
    verdict = check(reading(*paged), ALL)
    assert verdict.ok, verdict.violations
    lag = verdict.stats["reader_lag_seconds"]
    assert lag["r0"]["100"] == {"count": 3, "p50": 2.0, "max": 2.0}  # c read twice, counted once
    assert lag["s0"]["200"]["max"] == 1.1


def test_an_acknowledged_envelope_skipped_by_a_read_whose_range_covered_it_is_lost() -> None:
    skipping = read(1, [EVERYTHING[0], EVERYTHING[2], EVERYTHING[3]])
    assert violation(check(reading(skipping), ALL), "read-lost") == [[1, "r0", "node-200", 100, 2]]


def test_a_skipped_envelope_not_yet_acknowledged_when_the_read_began_is_a_gap() -> None:
    early = read(1, [EVERYTHING[0], EVERYTHING[2]], invoke=0.05, complete=1.5, originators=[100])
    assert violation(check(reading(early), ALL), "read-gap") == [[1, "r0", "node-200", 100, 2]]


def test_a_skipped_envelope_of_the_read_topic_is_lost_and_other_topics_are_not_gaps() -> None:
    # A topic query legitimately skips other topics' sequence ids.
    by_topic = read(1, [got(2.1, 100, 3, "c")], kind="query-topics", originators=[], topics=["a", "c"])
    assert violation(check(reading(by_topic), ALL), "read-lost") == [[1, "r0", "node-200", 100, 1]]
    only_c = read(2, [got(2.1, 100, 3, "c")], kind="query-topics", originators=[], topics=["c"])
    assert check(reading(only_c), ALL).ok


def test_the_same_envelope_twice_in_one_stream_is_a_duplicate() -> None:
    stream = read(1, [*EVERYTHING, got(3, 100, 2, "b")], kind="subscribe", limit=0)
    assert violation(check(reading(stream), ALL), "read-duplicate") == [[1, "r0", "node-200", 100, 2]]
    # Twice across two reads is how paging with an old cursor works: not a duplicate.
    assert check(reading(read(2, EVERYTHING), read(3, EVERYTHING, invoke=3, complete=3.5)), ALL).ok


def test_an_originators_envelopes_out_of_order_are_caught() -> None:
    swapped = read(1, [EVERYTHING[1], EVERYTHING[0], EVERYTHING[2], EVERYTHING[3]])
    assert violation(check(reading(swapped), ALL), "read-order") == [[1, "r0", "node-200", 100, 2, 1]]


def test_other_content_under_an_acknowledged_key_is_a_mismatch() -> None:
    changed_topic = read(1, [got(2.1, 100, 1, "z"), *EVERYTHING[1:]])
    assert violation(check(reading(changed_topic), ALL), "read-mismatch")[0][4] == "topic"
    changed_payload = read(2, [got(2.1, 100, 1, "a", "tampered"), *EVERYTHING[1:]], invoke=3, complete=3.1)
    evidence = violation(check(reading(read(1, EVERYTHING), changed_payload), ALL), "read-mismatch")
    assert evidence == [[2, "node-200", 100, 1, "payload", 1, 2]]


def test_a_read_after_a_heal_returning_less_than_an_identical_earlier_one_goes_back() -> None:
    heal = TimelineEvent(1, "fault", "partition", ("node-200",), {}, T0 + 3, T0 + 10)
    before = read(1, EVERYTHING, invoke=2, complete=2.5)
    after = read(2, [*EVERYTHING[:2], EVERYTHING[3]], invoke=11, complete=11.5)
    history = replace(reading(before, after), events=[heal])
    assert violation(check(history, ALL), "read-going-back") == [[2, "node-200", 100, 2, 1, 3]]
    # A page cut short by its limit says nothing about what the node holds.
    cut = read(3, EVERYTHING[:2], invoke=11, complete=11.5, limit=2)
    assert check(reading(before, cut), ALL).ok


def test_a_reader_still_reading_after_the_heal_that_never_got_an_envelope_has_it_unseen() -> None:
    stream = read(1, EVERYTHING[:3], kind="subscribe", limit=0, invoke=0, complete=70)
    assert violation(check(reading(stream), ALL), "read-unseen") == [["r0", "node-200", 1, [[200, 1]]]]
    # A reader that stopped before the heal is not held to the end.
    stopped = read(2, EVERYTHING[:3], kind="subscribe", limit=0, invoke=0, complete=50)
    assert check(reading(stopped), ALL).ok


def test_an_old_envelope_at_or_below_the_cursor_is_out_of_order() -> None:
    replayed = read(1, [EVERYTHING[2], EVERYTHING[0]], cursor={100: 2}, originators=[100])
    assert violation(check(reading(replayed), ALL), "read-order") == [[1, "r0", "node-200", 100, 3, 1]]


def test_lag_counts_a_readers_first_delivery_of_each_envelope_only() -> None:
    again = [read(1, EVERYTHING, invoke=2.0), read(2, EVERYTHING, invoke=30.0, complete=30.5)]
    again[1].deliveries = [(T0 + 30.1, o, s, t, d) for _, o, s, t, d in EVERYTHING]
    lag = check(reading(*again), ALL).stats["reader_lag_seconds"]["r0"]
    assert lag["100"] == {"count": 3, "p50": 2.0, "max": 2.0}


def test_a_topic_added_later_by_a_reader_is_held_to_the_end_too() -> None:
    first = read(1, [EVERYTHING[0]], kind="query-topics", originators=[], topics=["a"], invoke=2, complete=2.1)
    later = read(2, [EVERYTHING[0]], kind="query-topics", originators=[], topics=["a", "d"], invoke=62, complete=62.1)
    assert violation(check(reading(first, later), ALL), "read-unseen") == [["r0", "node-200", 1, [[200, 1]]]]
