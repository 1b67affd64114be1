"""Benchmark: real libxmtp users -- registrations per second, messages per second end to end,
and delivery latency across nodes.

One environment: 3 nodes, 1 gateway, the MLS validation service
(``XMTPD_E2E_MLS_VALIDATION_BIN``), nodes with ``XMTPD_API_ORIGINATOR_CACHE_TTL=100ms`` (see
docs/findings/originator-cache-hides-new-originators.md).  ``--users`` users are registered one
after another, spread over the nodes (registered = libxmtp's register returned and the
installation shows in its inbox state); one of them creates a group with all, every member
streams, then each sends ``--messages`` messages in turns.

* registrations/s: users / time to register them all;
* messages/s end to end: messages / time from the first send until every member has every message;
* delivery latency: a member's first sighting (its stream) minus the message's sent time, for
  every (message, other member); "across nodes" when the member reads from another node than the
  sender.  A message a stream missed is found by a sync and counts from that sync.

    .venv/bin/python bench/users.py --runtime local
    .venv/bin/python bench/users.py --runtime docker
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from typing import Any

from environments import bench_config, bench_environment
from recording import save, summarize

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.infra.validation import find_validation_bin
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.runtime.registry import RUNTIMES
from xmtpd_e2e.scenarios._xmtp_users import ORIGINATOR_CACHE_TTL, check_identities_on_every_node, join
from xmtpd_e2e.users import User

NODES = (100, 200, 300)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def latency_summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50": round(percentile(values, 0.5), 3),
        "p99": round(percentile(values, 0.99), 3),
        "max": round(max(values), 3),
    }


def run(config: RunConfig, users_count: int, messages_each: int) -> dict[str, Any]:
    with bench_environment(config, "bench-users") as (env, _):
        env.start()
        env.add_nodes(len(NODES), env=ORIGINATOR_CACHE_TTL)
        env.add_gateway()
        began = time.monotonic()
        users = [env.new_user(node=NODES[i % len(NODES)], name=f"user-{i}") for i in range(users_count)]
        registration = time.monotonic() - began
        check_identities_on_every_node(env, users)

        group = users[0].create_group(users[1:])
        conversations = {users[0].name: group, **{u.name: join(u, group.id) for u in users[1:]}}
        for user in users:
            user.stream()

        texts = [f"{u.name} #{i}" for i in range(messages_each) for u in users]
        began = time.monotonic()
        for i in range(messages_each):
            for user in users:
                conversations[user.name].send(f"{user.name} #{i}")
        sending = time.monotonic() - began
        for user in users:
            _wait_for_all(user, {t for t in texts if not t.startswith(f"{user.name} #")})
        end_to_end = time.monotonic() - began
        return _results(env.users.history.messages(), users, registration, sending, end_to_end, len(texts))


def _wait_for_all(user: User, others: set[str]) -> None:
    def seen() -> set[str]:
        return {m.text for m in user.received()}

    wait_until(
        seen,
        lambda got: others <= got,
        timeout=120,
        description=f"{user.name} to see every message",
        first_interval=0.02,
    )


def _results(
    received: list[Any], users: list[User], registration: float, sending: float, end_to_end: float, messages: int
) -> dict[str, Any]:
    node_of = {u.name: u.node_id for u in users}
    across = [m.latency for m in received if node_of.get(m.sender) != node_of[m.user]]
    same = [m.latency for m in received if node_of.get(m.sender) == node_of[m.user]]
    return {
        "users": len(users),
        "registration_seconds": round(registration, 3),
        "registrations_per_second": round(len(users) / registration, 3),
        "messages": messages,
        "sending_seconds": round(sending, 3),
        "end_to_end_seconds": round(end_to_end, 3),
        "messages_per_second_end_to_end": round(messages / end_to_end, 3),
        "latency_across_nodes_seconds": latency_summary(across),
        "latency_same_node_seconds": latency_summary(same),
        "seen_by": {how: sum(1 for m in received if m.how == how) for how in ("stream", "sync")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=RUNTIMES.names(), required=True)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--messages", type=int, default=5, help="messages each user sends")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    binary = find_validation_bin(RunConfig())
    if binary is None:
        sys.exit("set XMTPD_E2E_MLS_VALIDATION_BIN to libxmtp's mls-validation-service")
    config = replace(bench_config(args.runtime), mls_validation_bin=binary)
    runs = [run(config, args.users, args.messages) for _ in range(args.repeat)]
    for result in runs:
        print(
            f"{args.runtime}: {result['registrations_per_second']} registrations/s, "
            f"{result['messages_per_second_end_to_end']} messages/s end to end, "
            f"across-node latency {result['latency_across_nodes_seconds']}",
            flush=True,
        )
    summary = {
        "registrations_per_second": summarize([r["registrations_per_second"] for r in runs]),
        "messages_per_second_end_to_end": summarize([r["messages_per_second_end_to_end"] for r in runs]),
        "latency_across_nodes_p50": summarize([r["latency_across_nodes_seconds"].get("p50", 0.0) for r in runs]),
        "latency_across_nodes_p99": summarize([r["latency_across_nodes_seconds"].get("p99", 0.0) for r in runs]),
        "runs": len(runs),
    }
    path = save(f"users-{args.runtime}", " ".join(["python", *sys.argv]), {"summary": summary, "runs": runs})
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
