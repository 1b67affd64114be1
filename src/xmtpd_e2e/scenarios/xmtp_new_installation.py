"""xmtp-new-installation: a user adds a second installation, which receives later messages.

Alice (node 100) and Bob (node 200) share a group.  Alice signs in on a second device (a new
installation of the same inbox, reading from node 300).  Bob's client adds installations it has
not seen when it sends, at most every 5 s (libxmtp's send-time installation check), so after that
interval Bob's next message must reach both of Alice's installations, and Alice's inbox must list
two installations.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.polling import sleep_until
from xmtpd_e2e.runner.requirements import MLS_VALIDATION, XMTP_USERS
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._xmtp_users import check_identities_on_every_node, join, users_cluster, wait_for_texts

INSTALLATION_CHECK_INTERVAL = 5.0
"""libxmtp 1.10: SEND_MESSAGE_UPDATE_INSTALLATIONS_INTERVAL_NS (crates/xmtp_configuration)."""


@scenario(
    "xmtp-new-installation",
    "A libxmtp user adds a second installation (another node); it receives the group's later messages",
    suites=("fast",),
    typical_seconds=20,
    requires=(MLS_VALIDATION, XMTP_USERS),
    setup=users_cluster(nodes=3),
)
def xmtp_new_installation(env: Environment) -> None:
    alice = env.new_user(node=100, name="alice")
    bob = env.new_user(node=200, name="bob")
    check_identities_on_every_node(env, [alice, bob])  # Alice's node must have Bob's key package
    group = alice.create_group([bob])
    bob_group = join(bob, group.id)
    group.send("before the new device")
    wait_for_texts(bob_group, ["before the new device"])

    laptop = alice.add_installation(name="alice-laptop", node=300)
    env.require.equal(laptop.inbox_id, alice.inbox_id, "the second installation belongs to Alice's inbox")
    env.require.equal(
        alice.installations(),
        sorted([alice.installation_id, laptop.installation_id]),
        "Alice's inbox lists both installations",
    )
    check_identities_on_every_node(env, [alice, bob, laptop])

    sleep_until(time.time() + INSTALLATION_CHECK_INTERVAL + 1, "libxmtp's send-time installation check interval")
    bob_group.send("after the new device")
    laptop_group = join(laptop, group.id)
    wait_for_texts(laptop_group, ["after the new device"])
    wait_for_texts(group, ["after the new device"])
    env.require.true(
        any(m.user == "alice-laptop" and m.text == "after the new device" for m in env.users.history.messages()),
        "the history records the new installation receiving Bob's message",
    )
