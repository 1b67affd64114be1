"""What readers saw, judged: a pure function of the history's reads, its publishes and the healed
databases.

xmtpd's promises to its users are about reads -- each originator's envelopes in order, exactly
once, never going back -- so they are checked where a user meets them.  Violations:

* ``read-lost`` -- an envelope acknowledged before a read began, matching its filter, with a
  sequence id between the read's cursor and the highest one the read returned for that
  originator, was not returned;
* ``read-gap`` -- the same for an envelope that exists (stored on a node at the end) but was not
  acknowledged before the read began: a sequence id skipped within a range the reader read;
* ``read-duplicate`` -- one (originator, sequence id) twice in one query or stream;
* ``read-order`` -- an originator's envelopes out of order in one query or stream, or one at or
  below the cursor the read was asked with (an old envelope replayed);
* ``read-mismatch`` -- an (originator, sequence id) delivered with another topic than the one
  acknowledged, or with another payload than another read got for it;
* ``read-going-back`` -- a read returned less of an originator than an identical earlier read at
  the same node (same cursor and filter), the later one complete (not cut by its page limit);
* ``read-unseen`` -- at the end, a reader that kept reading past the heal never got envelopes
  acknowledged for its filter.

Each reader's lag behind each originator (first delivery - acknowledgement) is a statistic.
Everything is one pass over the deliveries plus sorting, so a million operations check in seconds.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from itertools import groupby, repeat
from math import inf
from operator import itemgetter, sub
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from xmtpd_e2e.explore.final_state import FinalState
from xmtpd_e2e.explore.history import History, Read
from xmtpd_e2e.explore.violation import Violation

__all__ = ["READ_VIOLATION_KINDS", "check_reads"]

READ_VIOLATION_KINDS = (
    "read-lost",
    "read-gap",
    "read-duplicate",
    "read-order",
    "read-mismatch",
    "read-going-back",
    "read-unseen",
)
_EXAMPLES = 20

Key = tuple[int, int]


@dataclass
class _Truth:
    """What the publishes and the databases say exists: the reference every read is held to."""

    acked: dict[Key, tuple[str, float]]
    """(originator, sequence id) -> (topic, acknowledgement time)."""
    acked_triples: set[tuple[int, int, str]]
    """(originator, sequence id, topic) of the acknowledged."""
    existing: set[Key]
    """Every key stored on a checked node at the end (all topic kinds), plus the acknowledged."""
    by_topic: dict[str, list[Key]]
    """Hex topic -> its client envelopes' keys (acknowledged or stored), sorted."""


def _truth(history: History, final: FinalState) -> _Truth:
    acked: dict[Key, tuple[str, float]] = {}
    for op in history.operations:
        if op.outcome == "ok" and op.complete is not None:
            for topic, key in zip(op.topics, op.keys, strict=False):
                acked[key] = (topic, op.complete)
    existing: set[Key] = set(acked)
    wanted = {t for read in history.reads for t in read.topics}
    by_topic: dict[str, set[Key]] = defaultdict(set)
    for key, (topic, _) in acked.items():
        if topic in wanted:
            by_topic[topic].add(key)
    for node in final.nodes.values():
        if not node.checked:
            continue
        for originator, sequence in node.sequences.items():
            existing.update(zip(repeat(originator), sequence))
        if wanted:
            for e in node.envelopes:
                if e.topic in wanted:
                    by_topic[e.topic].add((e.originator, e.sequence_id))
    triples = {(o, s, t) for (o, s), (t, _) in acked.items()}
    return _Truth(acked, triples, existing, {t: sorted(k) for t, k in by_topic.items()})


def _matches(read: Read, originator: int) -> bool:
    return not read.originators or originator in read.originators


# -- within one read ---------------------------------------------------------------------------------


@dataclass
class _Findings:
    """Per kind: (read id, evidence) pairs, and how many."""

    examples: dict[str, list[list[Any]]]
    counts: dict[str, int]

    def add(self, kind: str, evidence: list[Any]) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        shown = self.examples.setdefault(kind, [])
        if len(shown) < _EXAMPLES:
            shown.append(evidence)


def _scan(read: Read, truth: _Truth, found: _Findings) -> dict[int, list[int]]:
    """Duplicates, order and topics of one read; returns originator -> sequence ids delivered.

    Most reads are clean, so the common case is checked with whole-list operations and only a
    read that fails them is walked envelope by envelope."""
    _, originators, sequences, topics, _ = zip(*read.deliveries, strict=True)
    keys = list(zip(originators, sequences, strict=True))
    # Stable: each originator's envelopes as delivered.  Sorting that again costs a pass when each
    # originator's run is already ascending (what a clean read gives).
    by_originator = sorted(keys, key=itemgetter(0))
    in_order = by_originator == sorted(by_originator)
    stale = read.cursor and any(s <= read.cursor.get(o, 0) for o, s in keys)
    if stale or not in_order or len(set(keys)) != len(keys):
        _walk(read, found)
        by_originator = sorted(set(keys))
    delivered: dict[int, list[int]] = {}
    for originator, group in groupby(by_originator, key=itemgetter(0)):
        delivered[originator] = [sequence for _, sequence in group]
    for originator, sequence, topic in set(zip(originators, sequences, topics, strict=True)) - truth.acked_triples:
        expected = truth.acked.get((originator, sequence))
        if expected is not None:
            found.add("read-mismatch", [read.id, read.node, originator, sequence, "topic", expected[0], topic])
    return delivered


def _walk(read: Read, found: _Findings) -> None:
    seen: set[Key] = set()
    last: dict[int, int] = dict(read.cursor)  # what the reader said it had: nothing at or below it is due
    for _, originator, sequence, _, _ in read.deliveries:
        if (originator, sequence) in seen:
            found.add("read-duplicate", [read.id, read.process, read.node, originator, sequence])
            continue
        seen.add((originator, sequence))
        if sequence < last.get(originator, 0):
            found.add("read-order", [read.id, read.process, read.node, originator, last[originator], sequence])
        last[originator] = max(last.get(originator, 0), sequence)


def _payloads(reads: list[Read], found: _Findings) -> None:
    """One (originator, sequence id) read with two payloads, by any two reads, is a mismatch."""
    variants: set[tuple[int, int, str]] = set()
    for read in reads:
        variants.update((o, s, d) for _, o, s, _, d in read.deliveries if d)
    if len(variants) == len({(o, s) for o, s, _ in variants}):
        return
    first: dict[Key, tuple[str, int]] = {}
    for read in reads:
        for _, o, s, _, d in read.deliveries:
            earlier = first.setdefault((o, s), (d, read.id))
            if d and earlier[0] != d:
                found.add("read-mismatch", [read.id, read.node, o, s, "payload", earlier[1], read.id])


def _skipped(read: Read, delivered: Mapping[int, list[int]], truth: _Truth) -> Iterator[Key]:
    """Keys that match the read's filter, lie within (cursor, highest returned] of their
    originator, exist, and were not returned (``delivered``: each originator's ids, ascending)."""
    if read.topics:
        for topic in read.topics:
            for originator, sequence in truth.by_topic.get(topic, ()):
                got = delivered.get(originator)
                if got and read.cursor.get(originator, 0) < sequence <= got[-1] and sequence not in got:
                    yield originator, sequence
        return
    for originator, got in delivered.items():
        previous = read.cursor.get(originator, 0)
        if got[-1] - previous == len(got):
            continue  # contiguous from the cursor: nothing skipped
        for sequence in got:
            for hole in range(previous + 1, sequence):
                if (originator, hole) in truth.existing:
                    yield originator, hole
            previous = sequence


def _within_reads(reads: list[Read], truth: _Truth, found: _Findings) -> None:
    for read in reads:
        if not read.deliveries:
            continue
        delivered = _scan(read, truth, found)
        for originator, sequence in _skipped(read, delivered, truth):
            acked = truth.acked.get((originator, sequence))
            kind = "read-lost" if acked is not None and acked[1] < read.invoke else "read-gap"
            found.add(kind, [read.id, read.process, read.node, originator, sequence])
    _payloads(reads, found)


# -- across reads ------------------------------------------------------------------------------------


def _request(read: Read) -> tuple[Any, ...]:
    return (read.node, read.kind, tuple(sorted(read.cursor.items())), tuple(read.originators), tuple(read.topics))


def _going_back(reads: Iterable[Read], found: _Findings) -> None:
    """Identical queries at one node: a complete later one may not return less of an originator
    than one that had completed before it began."""
    groups: dict[tuple[Any, ...], list[Read]] = defaultdict(list)
    for read in reads:
        if read.kind != "subscribe" and read.outcome == "ok" and read.complete is not None:
            groups[_request(read)].append(read)
    for group in groups.values():
        if len(group) < 2:
            continue
        highs = [_highest(r) for r in group]
        finished = sorted(range(len(group)), key=lambda i: group[i].complete or 0.0)
        completes = [group[i].complete or 0.0 for i in finished]
        best: dict[int, tuple[int, int]] = {}
        running: list[dict[int, tuple[int, int]]] = []
        for i in finished:
            best = dict(best)
            for originator, high in highs[i].items():
                if high > best.get(originator, (0, 0))[0]:
                    best[originator] = (high, group[i].id)
            running.append(best)
        for i, read in enumerate(group):
            before = bisect.bisect_left(completes, read.invoke)
            if before == 0 or not read.exhaustive:
                continue
            for originator, (high, earlier) in running[before - 1].items():
                if highs[i].get(originator, read.cursor.get(originator, 0)) < high:
                    found.add(
                        "read-going-back",
                        [read.id, read.node, originator, highs[i].get(originator, 0), earlier, high],
                    )


def _highest(read: Read) -> dict[int, int]:
    highest: dict[int, int] = {}
    for _, originator, sequence, _, _ in read.deliveries:
        if sequence > highest.get(originator, 0):
            highest[originator] = sequence
    return highest


def _unseen(history: History, truth: _Truth, found: _Findings) -> None:
    """Readers still reading after the heal must have had everything acknowledged for them."""
    by_process: dict[str, list[Read]] = defaultdict(list)
    for read in history.reads:
        by_process[read.process].append(read)
    acked_by_originator: dict[int, set[int]] = defaultdict(set)
    for originator, sequence in truth.acked:
        acked_by_originator[originator].add(sequence)
    for process, reads in sorted(by_process.items()):
        if max((r.complete or 0.0) for r in reads) < history.healed_at:
            continue
        first = min(reads, key=lambda r: r.invoke)
        topics = {t for r in reads for t in r.topics}  # a topic reader may add topics as it goes
        had: dict[int, set[int]] = defaultdict(set)
        for r in reads:
            for _, o, s, _, _ in r.deliveries:
                had[o].add(s)
        if topics:
            candidates: Iterable[Key] = (k for t in topics for k in truth.by_topic.get(t, ()) if k in truth.acked)
        else:
            candidates = (
                (o, s) for o, sequences in acked_by_originator.items() if _matches(first, o) for s in sequences - had[o]
            )
        missing = [k for k in candidates if k[1] not in had[k[0]] and k[1] > first.cursor.get(k[0], 0)]
        if missing:
            found.add("read-unseen", [process, first.node, len(missing), [list(k) for k in sorted(missing)[:10]]])


# -- lag -----------------------------------------------------------------------------------------------


def _lag(reads: Iterable[Read], truth: _Truth) -> dict[str, dict[str, dict[str, float | int]]]:
    """Reader -> originator -> how long after its acknowledgement the reader first got an
    envelope (p50, max, count); a topic reader's re-reads do not count again."""
    acked_at = {key: at for key, (_, at) in truth.acked.items()}
    first: dict[str, dict[Key, float]] = defaultdict(dict)
    for read in sorted(reads, key=lambda r: r.invoke, reverse=True):
        if read.deliveries:
            times, originators, sequences, _, _ = zip(*reversed(read.deliveries), strict=True)
            # Latest reads first, each back to front: the earliest delivery of a key is written last.
            first[read.process].update(zip(zip(originators, sequences, strict=True), times, strict=True))
    stats: dict[str, dict[str, dict[str, float | int]]] = {}
    for process, got in sorted(first.items()):
        delays: dict[int, list[float]] = defaultdict(list)
        keys = list(got)
        # An envelope never acknowledged has no lag: its "acknowledgement" at +inf gives -inf.
        for (originator, _), lag in zip(
            keys, map(sub, got.values(), map(acked_at.get, keys, repeat(inf))), strict=True
        ):
            if lag != -inf:
                delays[originator].append(lag if lag > 0 else 0.0)
        stats[process] = {}
        for originator, values in sorted(delays.items()):
            values.sort()
            stats[process][str(originator)] = {
                "count": len(values),
                "p50": round(values[len(values) // 2], 3),
                "max": round(values[-1], 3),
            }
    return stats


# -- the verdict part --------------------------------------------------------------------------------

_DESCRIPTIONS = {
    "read-lost": "acknowledged envelope(s) not returned to a read whose range covered them "
    "[read, reader, node, originator, sequence]",
    "read-gap": "existing envelope(s) skipped within a range a read returned [read, reader, node, originator, sequence]",
    "read-duplicate": "envelope(s) returned twice in one read [read, reader, node, originator, sequence]",
    "read-order": "envelope(s) out of their originator's order in one read "
    "[read, reader, node, originator, after, got]",
    "read-mismatch": "envelope(s) returned with other content than acknowledged or than another read got "
    "[read, node, originator, sequence, what, expected, got]",
    "read-going-back": "read(s) returning less than an identical earlier read at the same node "
    "[read, node, originator, highest now, earlier read, its highest]",
    "read-unseen": "reader(s) that read past the heal and never got acknowledged envelopes "
    "[reader, node, count, first keys]",
}


def check_reads(history: History, final: FinalState) -> tuple[list[Violation], dict[str, Any]]:
    """The read-side violations and each reader's lag (see module docstring)."""
    if not history.reads:
        return [], {}
    truth = _truth(history, final)
    found = _Findings({}, {})
    _within_reads(history.reads, truth, found)
    _going_back(history.reads, found)
    _unseen(history, truth, found)
    violations = [
        Violation(
            kind,
            f"{found.counts[kind]} {_DESCRIPTIONS[kind]}: {found.examples[kind][:3]}",
            None,
            {"count": found.counts[kind], "examples": found.examples[kind]},
        )
        for kind in READ_VIOLATION_KINDS
        if kind in found.counts
    ]
    stats = {
        "reads": len(history.reads),
        "deliveries": sum(len(r.deliveries) for r in history.reads),
        "reader_lag_seconds": _lag(history.reads, truth),
    }
    return violations, stats
