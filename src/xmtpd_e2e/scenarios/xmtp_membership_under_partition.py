"""xmtp-membership-under-partition: members added and removed while a node is cut off.

Admin (node 100) has a group with Bob (node 200) and Carol (node 300).  Node 300 is partitioned
from the other nodes and the gateway; meanwhile Admin adds Dave (node 100), removes Bob and sends
a message.  After the heal every member (Admin, Carol, Dave) must agree on the member list and
the epoch and have the message; Bob, removed, must not receive anything sent after his removal
and his client must see the group as inactive.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.requirements import MLS_VALIDATION, XMTP_USERS
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._xmtp_users import check_identities_on_every_node, join, users_cluster, wait_for_texts
from xmtpd_e2e.users import Conversation, UserError

AFTER_REMOVAL = "sent after Bob's removal"
CONVERGENCE_TIMEOUT = 120.0


@scenario(
    "xmtp-membership-under-partition",
    "libxmtp users: a member added and one removed while node 300 is partitioned; all agree after the heal",
    typical_seconds=90,  # a send can wait 30 s on the partitioned node: findings/gateway-bans-node-on-depends-on-race.md
    requires=(MLS_VALIDATION, XMTP_USERS),
    setup=users_cluster(nodes=3),
)
def xmtp_membership_under_partition(env: Environment) -> None:
    admin = env.new_user(node=100, name="admin")
    bob = env.new_user(node=200, name="bob")
    carol = env.new_user(node=300, name="carol")
    dave = env.new_user(node=100, name="dave")
    check_identities_on_every_node(env, [admin, bob, carol, dave])

    group = admin.create_group([bob, carol])
    bob_group, carol_group = join(bob, group.id), join(carol, group.id)
    group.send("hello everyone")
    for conversation in (bob_group, carol_group):
        wait_for_texts(conversation, ["hello everyone"])

    fault = env.partition([300])
    group.add_members([dave])
    group.remove_members([bob])
    group.send(AFTER_REMOVAL)
    dave_group = join(dave, group.id)
    carol_group.sync()
    env.require.true(
        AFTER_REMOVAL not in {m.text for m in carol_group.messages()},
        "while node 300 is cut off, carol (reading from it) does not have the message yet",
    )
    fault.heal()

    members = {"admin": group, "carol": carol_group, "dave": dave_group}
    for conversation in members.values():
        wait_for_texts(conversation, [AFTER_REMOVAL], timeout=CONVERGENCE_TIMEOUT)
    expected = sorted([admin.inbox_id, carol.inbox_id, dave.inbox_id])
    views = env.require.eventually(
        lambda: {name: _view(c) for name, c in members.items()},
        accept=lambda seen: all(view == (expected, seen["admin"][1]) for view in seen.values()),
        timeout=CONVERGENCE_TIMEOUT,
        description="admin, carol and dave to agree on the members (without bob) and the epoch",
        swallow=(UserError,),
    )
    env.log.info("after the heal every member sees %s", views)

    env.require.eventually(
        lambda: _synced_inactive(bob_group),
        timeout=CONVERGENCE_TIMEOUT,
        description="bob's client to see that it was removed",
        swallow=(UserError,),
    )
    after = [m.text for m in bob_group.messages() if m.text == AFTER_REMOVAL]
    env.require.equal(after, [], "bob has nothing sent after his removal")


def _view(conversation: Conversation) -> tuple[list[str], int]:
    conversation.sync()
    return conversation.members(), conversation.epoch()


def _synced_inactive(conversation: Conversation) -> bool:
    conversation.sync()
    return not conversation.is_active()
