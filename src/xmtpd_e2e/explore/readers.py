"""Reader threads for an exploration: each reads one node as a user's app would and records every
query and stream as a :class:`~xmtpd_e2e.explore.history.Read`.

* ``pages`` -- follows every originator by cursor, page after page (``QueryEnvelopes``);
* ``topics`` -- re-reads a set of acknowledged topics from the start, as a user in several groups
  does: the first topic acknowledged by each originator, up to five, added as originators appear
  (between additions the requests are identical, so a node returning less than before shows as
  going back);
* ``stream`` -- one ``SubscribeEnvelopes`` stream over every originator, reopened from its cursor
  when it breaks (each stream one long read with its deliveries).

Readers run through faults, the heal and convergence, until each has caught up (or the executor
gives up): what they have not seen by then is the checker's ``read-unseen``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from xmtpd_e2e.client.reader import QUERY_PAGE, EnvelopeReader, ReadEnvelope
from xmtpd_e2e.explore.history import HistoryRecorder, Read

__all__ = ["ReaderSpec", "ReaderThread", "READER_KINDS", "TOPICS_PER_READER"]

READER_KINDS = ("pages", "topics", "stream")
TOPICS_PER_READER = 5
ERROR_PAUSE = 0.5


@dataclass(frozen=True)
class ReaderSpec:
    name: str
    target: str
    """``node-<id>``: the node it reads."""
    kind: str
    """One of :data:`READER_KINDS`."""
    interval: float = 0.5
    """Seconds between polls (``pages``, ``topics``)."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "kind": self.kind, "interval": self.interval}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReaderSpec:
        kind = str(data["kind"])
        if kind not in READER_KINDS:
            raise ValueError(f"unknown reader kind {kind!r}; known: {', '.join(READER_KINDS)}")
        return cls(str(data["name"]), str(data["target"]), kind, float(data.get("interval", 0.5)))


def _spread(acknowledged: Sequence[tuple[str, int]], chosen: list[str]) -> list[str]:
    """``chosen`` plus the first topic of each originator not yet among them, up to five."""
    topics = list(chosen)
    originators = {o for t, o in acknowledged if t in topics}
    for topic, originator in acknowledged:
        if len(topics) >= TOPICS_PER_READER:
            break
        if originator not in originators:
            topics.append(topic)
            originators.add(originator)
    return topics


class ReaderThread(threading.Thread):
    """Runs one :class:`ReaderSpec` until :meth:`stop`; ``seen`` holds every key it got."""

    def __init__(
        self,
        spec: ReaderSpec,
        reader: EnvelopeReader,
        recorder: HistoryRecorder,
        originators: Sequence[int],
        topics: Callable[[], list[tuple[str, int]]],
    ) -> None:
        super().__init__(name=f"explore-reader-{spec.name}", daemon=True)
        self.spec = spec
        self.reader = reader
        self.recorder = recorder
        self.originators = list(originators)
        self._topic_source = topics
        self.topics: list[str] = []
        self.seen: set[tuple[int, int]] = set()
        self.cursor: dict[int, int] = {}
        self._halt = threading.Event()
        self._stream: Any = None

    def stop(self) -> None:
        self._halt.set()
        stream = self._stream
        if stream is not None:
            stream.cancel()

    def caught_up(self, acknowledged: dict[tuple[int, int], str]) -> bool:
        """Whether it has seen every acknowledged envelope it reads (key -> topic)."""
        wanted = set(self.topics) if self.spec.kind == "topics" else None
        return all(key in self.seen for key, topic in acknowledged.items() if wanted is None or topic in wanted)

    def run(self) -> None:
        step = {"pages": self._pages, "topics": self._topics, "stream": self._subscribe}[self.spec.kind]
        while not self._halt.is_set():
            try:
                step()
            except Exception:  # a failed read is recorded; the reader keeps reading
                self._halt.wait(ERROR_PAUSE)
                continue
            if self.spec.kind != "stream":
                self._halt.wait(self.spec.interval)

    # -- one read each ------------------------------------------------------------------------
    def _begin(self, kind: str, *, topics: Sequence[str] = (), limit: int = 0) -> Read:
        return self.recorder.begin_read(
            Read(
                0,
                self.spec.name,
                self.spec.target,
                kind,
                0.0,
                dict(self.cursor) if kind != "query-topics" else {},
                self.originators if kind != "query-topics" else [],
                list(topics),
                limit,
            )
        )

    def _deliver(self, read: Read, envelopes: Sequence[ReadEnvelope]) -> None:
        now = time.time()
        for e in envelopes:
            read.deliveries.append((now, e.originator, e.sequence_id, e.topic, e.digest))
            self.seen.add((e.originator, e.sequence_id))
            if read.kind != "query-topics":
                self.cursor[e.originator] = max(self.cursor.get(e.originator, 0), e.sequence_id)

    def _guarded(self, read: Read, body: Callable[[], int]) -> int:
        """Run one read's body (it returns how many envelopes it got) and record its outcome."""
        try:
            count = body()
        except Exception as error:
            self.recorder.end_read(read, "unknown", f"{type(error).__name__}: {error}"[:300])
            raise
        self.recorder.end_read(read, "ok")
        return count

    def _query(self, read: Read) -> int:
        if read.topics:
            page = self.reader.query(topics=read.topics, limit=read.limit)
        else:
            page = self.reader.query(originators=read.originators, cursor=read.cursor, limit=read.limit)
        self._deliver(read, page)
        return len(page)

    def _pages(self) -> None:
        while not self._halt.is_set():
            read = self._begin("query-originators", limit=QUERY_PAGE)
            if self._guarded(read, lambda: self._query(read)) < QUERY_PAGE:  # noqa: B023 (called at once)
                return

    def _topics(self) -> None:
        if len(self.topics) < TOPICS_PER_READER:
            self.topics = _spread(self._topic_source(), self.topics)
        if not self.topics:
            return
        read = self._begin("query-topics", topics=self.topics, limit=QUERY_PAGE)
        self._guarded(read, lambda: self._query(read))

    def _subscribe(self) -> None:
        read = self._begin("subscribe")

        def stream() -> int:
            self._stream = self.reader.subscribe(originators=self.originators, cursor=read.cursor)
            if self._halt.is_set():  # stop() came before the stream existed to be cancelled
                self._stream.cancel()
            try:
                for batch in self._stream:
                    self._deliver(read, batch)
                    if self._halt.is_set():
                        break
            except Exception:
                if not self._halt.is_set():
                    raise  # else cancelled by stop(): the stream ended as asked
            finally:
                self._stream = None
            return len(read.deliveries)

        self._guarded(read, stream)
