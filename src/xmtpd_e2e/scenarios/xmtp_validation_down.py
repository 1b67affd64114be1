"""xmtp-validation-down: the MLS validation service stops, then comes back.

Nodes validate every key package with libxmtp's MLS validation service.  With it stopped, a new
user's registration must fail with an error that names the key-package publish and the gateway,
while Alice and Bob, already in a group, keep exchanging messages.  Once the service is back,
registration must work again.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.requirements import MLS_VALIDATION, XMTP_USERS
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._xmtp_users import check_identities_on_every_node, join, user_cluster, wait_for_texts
from xmtpd_e2e.users import User, UserError

RECOVERY_TIMEOUT = 60.0


@scenario(
    "xmtp-validation-down",
    "MLS validation service stopped: registration fails clearly, group messages still flow; back: it works",
    suites=("fast",),
    typical_seconds=25,
    requires=(MLS_VALIDATION, XMTP_USERS),
)
def xmtp_validation_down(env: Environment) -> None:
    user_cluster(env, nodes=2)
    alice = env.new_user(node=100, name="alice")
    bob = env.new_user(node=200, name="bob")
    check_identities_on_every_node(env, [alice, bob])
    group = alice.create_group([bob])
    bob_group = join(bob, group.id)

    env.validation.stop()
    try:
        env.new_user(node=100, name="carol")
    except UserError as error:
        env.log.info("registration while the validation service is down: %s", error)
        env.require.contains(str(error), "PublishClientEnvelopes", "the error names the publish that failed")
        env.require.contains(str(error), "gateway-0", "the error names the gateway")
        env.require.contains(str(error), "key package", "the error says the key package could not be validated")
    else:
        env.require.fail("a user registered while the MLS validation service was stopped")

    group.send("while validation is down")
    wait_for_texts(bob_group, ["while validation is down"])
    bob_group.send("reply while validation is down")
    wait_for_texts(group, ["reply while validation is down"])

    env.validation.start()
    attempts = iter(range(2, 1000))
    dave: User = env.require.eventually(
        lambda: env.new_user(node=200, name=f"dave-{next(attempts)}"),
        timeout=RECOVERY_TIMEOUT,
        description="a new user to register once the validation service is back",
        swallow=(UserError,),
    )
    check_identities_on_every_node(env, [dave])
