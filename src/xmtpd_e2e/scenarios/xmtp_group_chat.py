"""xmtp-group-chat: real libxmtp users on different nodes make an MLS group and talk.

Four users (nodes 100, 200, 300 and 100 again) register through the gateway; one creates a group
with the other three, who join from their welcomes; each sends three messages, interleaved.  Every
member must end with all twelve messages exactly once and each sender's in the order sent (as its
client lists them, by sent time), agree
on the epoch and the member list, and every node must store every user's identity updates and
key package.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.requirements import MLS_VALIDATION, XMTP_USERS
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._xmtp_users import (
    check_exactly_once_in_order,
    check_identities_on_every_node,
    join,
    users_cluster,
    wait_for_texts,
)

HOMES = (100, 200, 300, 100)
MESSAGES_EACH = 3


@scenario(
    "xmtp-group-chat",
    "4 libxmtp users on 3 nodes make a group, each sends 3: all get all 12 once, in order; identities on every node",
    suites=("fast",),
    typical_seconds=16,
    requires=(MLS_VALIDATION, XMTP_USERS),
    setup=users_cluster(nodes=3),
)
def xmtp_group_chat(env: Environment) -> None:
    users = [env.new_user(node=node, name=f"user-{i}") for i, node in enumerate(HOMES, start=1)]
    check_identities_on_every_node(env, users)

    creator = users[0]
    group = creator.create_group(users[1:], name="xmtp-group-chat")
    conversations = {creator.name: group, **{u.name: join(u, group.id) for u in users[1:]}}

    sent = {u.name: [f"{u.name} #{i}" for i in range(MESSAGES_EACH)] for u in users}
    for i in range(MESSAGES_EACH):
        for user in users:
            conversations[user.name].send(sent[user.name][i])

    everything = [text for texts in sent.values() for text in texts]
    for user in users:
        messages = wait_for_texts(conversations[user.name], everything)
        check_exactly_once_in_order(env, user, messages, sent)

    members = {u.name: conversations[u.name].members() for u in users}
    env.require.equal(len({tuple(m) for m in members.values()}), 1, f"every member sees the same members: {members}")
    env.require.equal(sorted(members[creator.name]), sorted(u.inbox_id for u in users), "the group has all 4 users")
    epochs = {u.name: conversations[u.name].epoch() for u in users}
    env.require.equal(len(set(epochs.values())), 1, f"every member is at the same epoch: {epochs}")
