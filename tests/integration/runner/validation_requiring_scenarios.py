"""Two scenarios for the refusal test: one needs the MLS validation service, one does not."""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.requirements import MLS_VALIDATION
from xmtpd_e2e.runner.scenario import scenario


@scenario("needs-validation", "would register real users", requires=(MLS_VALIDATION,), skip_invariants="no nodes")
def needs_validation(env: Environment) -> None:
    env.require.fail("a scenario whose requirement is not met must not run")


@scenario("needs-no-validation", "group messages only", skip_invariants="one node, nothing to compare")
def needs_no_validation(env: Environment) -> None:
    node = env.add_node()
    env.require.false(env.has_validation, "no validation service is configured in this run")
    env.new_client(node.id).publish_envelopes(3)
