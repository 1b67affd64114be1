"""Real libxmtp users against a real cluster (validation service, nodes, gateway): messages
through the proxies into the history, errors naming the node, databases removed at close."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from integration_environments import integration_config, started_environment
from runtime_params import runtime_params

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.validation import find_validation_bin
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.scenarios._xmtp_users import ORIGINATOR_CACHE_TTL, check_identities_on_every_node, join
from xmtpd_e2e.users import UserError

pytestmark = pytest.mark.integration


def _with_validation(config: RunConfig) -> RunConfig:
    try:
        found = find_validation_bin(config)
    except SetupError as error:
        pytest.fail(str(error))
    if found is None:
        pytest.fail("real users need libxmtp's mls-validation-service: set XMTPD_E2E_MLS_VALIDATION_BIN")
    return replace(config, mls_validation_bin=found)


@pytest.fixture(params=runtime_params())
def user_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Environment]:
    config = _with_validation(integration_config(tmp_path, request.param))
    with started_environment(config, tmp_path, f"users-{request.param}") as env:
        env.add_nodes(2, env=ORIGINATOR_CACHE_TTL)
        env.add_gateway()
        yield env


def test_users_on_two_nodes_exchange_messages_recorded_in_the_history(user_env: Environment, tmp_path: Path) -> None:
    alice = user_env.new_user(node=100, name="alice")
    bob = user_env.new_user(node=200, name="bob")
    assert alice.database.parent == user_env.work_dir / "users" and alice.database.exists()
    check_identities_on_every_node(user_env, [alice, bob])

    group = alice.create_group([bob])
    bob_group = join(bob, group.id)
    bob.stream()
    group.send("hello bob")
    received = wait_until(
        bob.received, lambda got: any(m.text == "hello bob" for m in got), timeout=60, description="bob's stream"
    )
    message = next(m for m in received if m.text == "hello bob")
    assert (message.sender, message.user, message.conversation) == ("alice", "bob", group.id)
    assert message.how in ("stream", "sync") and 0 <= message.latency < 60
    assert [m.text for m in bob_group.messages()] == ["hello bob"]

    kinds = {(o.user, o.kind) for o in user_env.users.history.operations() if o.ok}
    assert {("alice", "register"), ("alice", "create_group"), ("alice", "send"), ("bob", "stream")} <= kinds

    written = user_env.collect_artifacts(tmp_path / "artifacts")
    assert tmp_path / "artifacts" / "users" / "history.json" in written
    assert (tmp_path / "artifacts" / "users" / "databases" / "alice.db3").exists()


def test_a_stopped_node_fails_its_users_reads_with_an_error_naming_it(user_env: Environment) -> None:
    alice = user_env.new_user(node=100, name="alice")
    bob = user_env.new_user(node=200, name="bob")
    check_identities_on_every_node(user_env, [alice, bob])
    group = alice.create_group([bob])
    bob_group = join(bob, group.id)

    user_env.node(200).stop()
    with pytest.raises(UserError) as raised:
        bob_group.sync()
    assert "node-200" in str(raised.value) and "bob: sync failed" in str(raised.value)
    assert not user_env.users.history.operations("bob", "sync")[-1].ok


def test_the_client_databases_go_with_the_environment(tmp_path: Path) -> None:
    config = _with_validation(integration_config(tmp_path, "local"))
    with started_environment(config, tmp_path, "users-close") as env:
        env.add_node(env=ORIGINATOR_CACHE_TTL)
        env.add_gateway()
        user = env.new_user(node=100, name="alice")
        directory = user.database.parent
        assert user.database.exists()
    assert not directory.exists()


def test_a_stream_broken_by_a_node_restart_is_opened_again_and_misses_nothing(user_env: Environment) -> None:
    alice = user_env.new_user(node=100, name="alice")
    bob = user_env.new_user(node=200, name="bob")
    user_env.users.wait_until_on_nodes(user_env.nodes())
    group = alice.create_group([bob])
    join(bob, group.id)
    bob.stream()
    group.send("before")
    wait_until(bob.received, lambda got: any(m.text == "before" for m in got), timeout=60, description="bob's stream")

    node = user_env.node(200)  # the node bob reads from
    node.stop(kill=True)
    group.send("while down")
    node.start()
    group.send("after")
    got = wait_until(
        bob.received,
        lambda got: {"while down", "after"} <= {m.text for m in got},
        timeout=60,
        description="bob's stream, opened again, to bring what was sent meanwhile and after",
    )
    assert {m.text: m.how for m in got} == {"before": "stream", "while down": "stream", "after": "stream"}
    history = user_env.users.history
    assert history.operations(user="bob", kind="stream_broken"), "the break is in the history"
    assert history.operations(user="bob", kind="stream")[-1].ok, "the last opening of bob's stream succeeded"
