"""Reading a real node as a user's app does: by topic, by originator cursor page after page, and
one subscription stream that catches up from a cursor and then delivers live envelopes."""

from __future__ import annotations

import threading

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.client.reader import ReadEnvelope


def test_queries_by_topic_and_by_cursor_and_a_stream_see_what_was_published(local_env: Environment) -> None:
    node = local_env.add_nodes(1)[0]
    client = local_env.new_client(node.id)
    first = client.publish_envelopes(7)
    reader = node.reader()
    try:
        by_topic = reader.query(topics=[first[2].topic])
        assert [(e.originator, e.sequence_id, e.topic) for e in by_topic] == [
            (node.id, first[2].sequence_id, first[2].topic)
        ]
        pages = list(reader.query_pages([node.id], limit=3))
        got = [e for page in pages for e in page]
        assert len(pages) >= 3 and all(len(p) == 3 for p in pages[:-1]) and len(pages[-1]) < 3
        keys = {(e.originator_node_id, e.sequence_id) for e in first}
        assert keys <= {(e.originator, e.sequence_id) for e in got}
        sequence = [e.sequence_id for e in got]
        assert sequence == sorted(sequence) and len(set(sequence)) == len(sequence)

        received: list[ReadEnvelope] = []
        cursor = {node.id: first[3].sequence_id}
        with reader.subscribe(originators=[node.id], cursor=cursor) as stream:
            done = threading.Event()

            def drain() -> None:
                for batch in stream:
                    received.extend(batch)
                    if {(node.id, s.sequence_id) for s in later} <= {(e.originator, e.sequence_id) for e in received}:
                        done.set()
                        return

            later = client.publish_envelopes(2)
            thread = threading.Thread(target=drain, daemon=True)
            thread.start()
            assert done.wait(30), f"the stream delivered only {received}"
        caught_up = [e.sequence_id for e in received if e.topic in {p.topic for p in first}]
        assert caught_up == [p.sequence_id for p in first[4:]]  # catch-up starts past the cursor
        assert all(e.digest and len(e.digest) == 16 for e in received)
    finally:
        reader.close()
