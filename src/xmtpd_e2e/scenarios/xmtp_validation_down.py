"""xmtp-validation-down: the MLS validation service stops, then comes back.

Nodes validate every key package with libxmtp's MLS validation service.  With it stopped, a new
user's registration must fail with an error that names the key-package publish and the gateway,
while Alice and Bob, already in a group, keep exchanging messages.  Once the service is back,
registration must work again.

How the refusal comes is recorded too.  xmtpd v1.2.0 answers a key-package publish it could not
validate with ``InvalidArgument`` -- the client's fault -- although the cause is its own
dependency (``docs/findings/validation-outage-answered-as-invalid-argument.md``).  That is
recorded as a ``check`` event named ``finding: validation outage answered late or as the client's
fault`` with the seconds the registration took; the scenario's verdict stays on what a user
needs: a clear error, messages still flowing, registration back once the service is.

Two outages.  ``xmtp-validation-down`` (fast suite) stops the service: its address stays and
refuses connections at once, as a stopped process on a live host does (local; docker keeps the
address in a network holder; on kubernetes it goes with the pod, and dials fail at once with "no
route to host").  ``xmtp-validation-unreachable`` (full suite) partitions
the service from the nodes and the gateway while it runs: packets to it go unanswered, each node
holds a key-package publish until the gateway's 30 s deadline, the gateway tries node after node,
and libxmtp gives up after 120 s with a deadline that names no cause
(``docs/findings/validation-unanswered-holds-registration.md``): recorded by the same event, and
the scenario fails on the unclear error after checking the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.faults.controller import Fault
from xmtpd_e2e.runner.requirements import MLS_VALIDATION, XMTP_USERS
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._findings import record_finding
from xmtpd_e2e.scenarios._xmtp_users import check_identities_on_every_node, join, users_cluster, wait_for_texts
from xmtpd_e2e.users import User, UserError

RECOVERY_TIMEOUT = 60.0
FINDING = "docs/findings/validation-outage-answered-as-invalid-argument.md"
UNANSWERED_FINDING = "docs/findings/validation-unanswered-holds-registration.md"
PROMPT_REFUSAL_SECONDS = 5.0
"""A registration refused within this long is refused promptly (libxmtp registers in about 0.5 s)."""
UNANSWERED_REFUSAL_TIMEOUT = 240.0
"""How long the unreachable variant lets a registration take: past libxmtp's own deadline (120 s
seen), so the answer the user gets is what is judged, not the framework's patience."""


@dataclass(frozen=True)
class Outage:
    """How a variant takes the validation service away and gives it back."""

    begin: Callable[[], object]
    end: Callable[[], object]
    finding: str
    """The write-up a late or unclear refusal is recorded against."""
    refusal_timeout: float = 60.0


@scenario(
    "xmtp-validation-down",
    "MLS validation service stopped: registration fails clearly, group messages still flow; back: it works",
    suites=("fast",),
    typical_seconds=25,
    requires=(MLS_VALIDATION, XMTP_USERS),
    setup=users_cluster(nodes=2),
)
def xmtp_validation_down(env: Environment) -> None:
    registration_through_validation_outage(env, Outage(env.validation.stop, env.validation.start, FINDING))


@scenario(
    "xmtp-validation-unreachable",
    "MLS validation service partitioned from the nodes (it runs on): registration fails clearly, messages flow; healed: it works",
    suites=("full",),
    typical_seconds=150,
    requires=(MLS_VALIDATION, XMTP_USERS),
    setup=users_cluster(nodes=2),
)
def xmtp_validation_unreachable(env: Environment) -> None:
    partitions: list[Fault] = []
    outage = Outage(
        begin=lambda: partitions.append(env.partition(["validation"])),  # it | every node and the gateway
        end=lambda: partitions.pop().heal(),
        finding=UNANSWERED_FINDING,
        refusal_timeout=UNANSWERED_REFUSAL_TIMEOUT,
    )
    registration_through_validation_outage(env, outage)


def registration_through_validation_outage(env: Environment, outage: Outage) -> None:
    """Alice and Bob in a group; the outage begins: a new user's registration is refused clearly
    while the group's messages flow; it ends: a new user registers (see module docstring)."""
    alice = env.new_user(node=100, name="alice")
    bob = env.new_user(node=200, name="bob")
    check_identities_on_every_node(env, [alice, bob])
    group = alice.create_group([bob])
    bob_group = join(bob, group.id)

    outage.begin()
    refusal = refused_registration(env, outage)
    env.require.contains(refusal, "PublishClientEnvelopes", "the error names the publish that failed")
    env.require.contains(refusal, "gateway-0", "the error names the gateway")

    group.send("while validation is down")
    wait_for_texts(bob_group, ["while validation is down"])
    bob_group.send("reply while validation is down")
    wait_for_texts(group, ["reply while validation is down"])

    outage.end()
    attempts = iter(range(2, 1000))
    dave: User = env.require.eventually(
        lambda: env.new_user(node=200, name=f"dave-{next(attempts)}"),
        timeout=RECOVERY_TIMEOUT,
        description="a new user to register once the validation service is back",
        swallow=(UserError,),
    )
    check_identities_on_every_node(env, [dave])
    # Last, so that a run meeting the defect still shows whether messages flowed and registration came back.
    env.require.contains(
        refusal,
        "key package",
        f"the error says the key package could not be validated (else: known xmtpd defect, {outage.finding})",
    )


def refused_registration(env: Environment, outage: Outage) -> str:
    """The error of a new user's registration during the outage (it must be refused), recorded
    against the outage's finding when it came late or blamed the client."""
    attempted = time.monotonic()
    try:
        env.new_user(node=100, name="carol", timeout=outage.refusal_timeout)
    except UserError as error:
        env.log.info("registration while the validation service is out: %s", error)
        record_how_the_refusal_came(env, str(error), time.monotonic() - attempted, outage.finding)
        return str(error)
    env.require.fail("a user registered while the MLS validation service was out")


def record_how_the_refusal_came(env: Environment, error: str, seconds: float, finding: str) -> None:
    """The finding's event when the refusal was slow or blamed the client (see module docstring)."""
    blamed_client = "code = InvalidArgument" in error
    late = seconds > PROMPT_REFUSAL_SECONDS
    if not (blamed_client or late):
        return
    record_finding(
        env,
        "validation outage answered late or as the client's fault",
        finding,
        refused_after_seconds=round(seconds, 1),
        node_answered_invalid_argument=blamed_client,
    )
