"""xmtp-validation-down: the MLS validation service stops, then comes back.

Nodes validate every key package with libxmtp's MLS validation service.  With it stopped, a new
user's registration must fail with an error that names the key-package publish and the gateway,
while Alice and Bob, already in a group, keep exchanging messages.  Once the service is back,
registration must work again.

How the refusal comes is recorded too.  xmtpd v1.2.0 answers a key-package publish it could not
validate with ``InvalidArgument`` -- the client's fault -- although the cause is its own
dependency, and on docker, where the stopped service's name stops resolving, it held each
publish up to 20 s before answering (``docs/findings/validation-outage-answered-as-invalid-argument.md``).
Either is recorded as a ``check`` event named ``finding: validation outage answered late or as the
client's fault`` with the seconds the registration took; the scenario's verdict stays on what a
user needs: a clear error, messages still flowing, registration back once the service is.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.requirements import MLS_VALIDATION, XMTP_USERS
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._findings import record_finding
from xmtpd_e2e.scenarios._xmtp_users import check_identities_on_every_node, join, users_cluster, wait_for_texts
from xmtpd_e2e.users import User, UserError

RECOVERY_TIMEOUT = 60.0
FINDING = "docs/findings/validation-outage-answered-as-invalid-argument.md"
PROMPT_REFUSAL_SECONDS = 5.0
"""A registration refused within this long is refused promptly (libxmtp registers in about 0.5 s)."""


@scenario(
    "xmtp-validation-down",
    "MLS validation service stopped: registration fails clearly, group messages still flow; back: it works",
    suites=("fast",),
    typical_seconds=25,
    requires=(MLS_VALIDATION, XMTP_USERS),
    setup=users_cluster(nodes=2),
)
def xmtp_validation_down(env: Environment) -> None:
    alice = env.new_user(node=100, name="alice")
    bob = env.new_user(node=200, name="bob")
    check_identities_on_every_node(env, [alice, bob])
    group = alice.create_group([bob])
    bob_group = join(bob, group.id)

    env.validation.stop()
    attempted = time.monotonic()
    try:
        env.new_user(node=100, name="carol")
    except UserError as error:
        env.log.info("registration while the validation service is down: %s", error)
        record_how_the_refusal_came(env, str(error), time.monotonic() - attempted)
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


def record_how_the_refusal_came(env: Environment, error: str, seconds: float) -> None:
    """The finding's event when the refusal was slow or blamed the client (see module docstring)."""
    blamed_client = "code = InvalidArgument" in error
    late = seconds > PROMPT_REFUSAL_SECONDS
    if not (blamed_client or late):
        return
    record_finding(
        env,
        "validation outage answered late or as the client's fault",
        FINDING,
        refused_after_seconds=round(seconds, 1),
        node_answered_invalid_argument=blamed_client,
    )
