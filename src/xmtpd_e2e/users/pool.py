"""Every real user of one environment: the loop their clients run on, the gateway fronts that
attach them to nodes, their databases (in the environment's own directory) and their history."""

from __future__ import annotations

import itertools
import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.chain.keys import Key
from xmtpd_e2e.errors import E2EError, WaitTimeout
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.users.bindings import load_bindings, stop_client_log, write_client_log
from xmtpd_e2e.users.conversation import Message
from xmtpd_e2e.users.errors import UserError, failed_call, gateway_reason, without_api_stats
from xmtpd_e2e.users.event_loop import LoopThread
from xmtpd_e2e.users.gateway_front import GatewayFront
from xmtpd_e2e.users.history import ReceivedMessage, UserHistory
from xmtpd_e2e.users.registration import register_client
from xmtpd_e2e.users.user import User
from xmtpd_e2e.users.visibility import missing_on_nodes

if TYPE_CHECKING:
    from xmtpd_e2e.api.gateway_handle import GatewayHandle
    from xmtpd_e2e.api.node_handle import NodeHandle

__all__ = ["UserPool", "REGISTRATION_VISIBLE_TIMEOUT"]

GATEWAY_LOG_DELAY = 3.0
"""Seconds to wait for the gateway's log line about a publish it failed."""
REGISTER_TIMEOUT = 60.0
"""How long a registration may take by default (libxmtp registers in about 0.5 s)."""
REGISTRATION_VISIBLE_TIMEOUT = 30.0
"""Seconds for a registered installation to show in its inbox state: registration returns once
the gateway put the identity update on chain; nodes index it a moment later."""


class UserPool:
    """Created by the environment on its first ``new_user``; closed with the environment."""

    def __init__(
        self,
        *,
        directory: Path,
        resolve_node: Any,
        resolve_gateway: Any,
        logger: logging.Logger,
    ) -> None:
        self.bindings = load_bindings()
        self.history = UserHistory()
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._client_log = directory / "libxmtp-logs"
        write_client_log(self.bindings, self._client_log)
        self.loop = LoopThread("xmtp-users")
        self._resolve_node = resolve_node
        self._resolve_gateway = resolve_gateway
        self._log = logger
        self._lock = threading.Lock()
        self._users: dict[str, User] = {}
        self._fronts: dict[tuple[str, int], GatewayFront] = {}
        self._apis: dict[tuple[str, int], Any] = {}
        self._numbers = itertools.count(1)

    # -- creating users -----------------------------------------------------------------------
    def new_user(
        self,
        *,
        node: int,
        gateway: int = 0,
        name: str | None = None,
        wallet: Key | None = None,
        timeout: float = REGISTER_TIMEOUT,
    ) -> User:
        """A new inbox with one installation, registered and visible on the network; an
        :class:`E2EError` if registering takes longer than ``timeout`` seconds."""
        return self._create(name or f"user-{next(self._numbers)}", node, gateway, wallet or Key.generate(), timeout)

    def new_installation(self, user: User, *, name: str | None, node: int | None, gateway: int | None) -> User:
        node_id = node if node is not None else user.node_id
        gateway_index = gateway if gateway is not None else self._gateway_index(user.gateway_alias)
        return self._create(name or f"{user.name}-2", node_id, gateway_index, user.wallet)

    def _create(
        self, name: str, node_id: int, gateway_index: int, wallet: Key, timeout: float = REGISTER_TIMEOUT
    ) -> User:
        with self._lock:
            if name in self._users:
                raise E2EError(f"a user named {name!r} already exists in this environment")
        node: NodeHandle = self._resolve_node(node_id)
        gateway: GatewayHandle = self._resolve_gateway(gateway_index)
        api = self._api(node, gateway)
        database = self.directory / f"{name}.db3"
        with self.history.operation(name, "register", node=node.alias, gateway=gateway.alias) as record:
            try:
                client = self.loop.run(
                    register_client(self.bindings, api, wallet, database), timeout=timeout, what=f"{name}: register"
                )
            except self.bindings.FfiError as error:
                raise self.user_error(
                    name, "register", str(error), gateway=gateway.alias, node=node.alias, since=record.started_at
                ) from None
        user = User(
            name=name,
            pool=self,
            client=client,
            wallet=wallet,
            node_id=node_id,
            node_alias=node.alias,
            gateway_alias=gateway.alias,
            database=database,
        )
        with self._lock:
            self._users[name] = user
        self._wait_visible(user)
        self._log.info("%r registered", user)
        return user

    def _wait_visible(self, user: User) -> None:
        with self.history.operation(user.name, "registration_visible"):
            wait_until(
                user.installations,
                lambda ids: user.installation_id in ids,
                timeout=REGISTRATION_VISIBLE_TIMEOUT,
                description=f"{user.name}'s installation in its inbox state on {user.node_alias}",
                swallow=(UserError,),
            )

    def _api(self, node: NodeHandle, gateway: GatewayHandle) -> Any:
        """One libxmtp API client per (gateway, node): it keeps the node it chose for reads."""
        key = (gateway.alias, node.id)
        with self._lock:
            if key not in self._apis:
                front = GatewayFront(
                    lambda: gateway.endpoint, lambda: {node.id: node.endpoint}, name=f"front-{gateway.alias}-{node.id}"
                )
                self._fronts[key] = front
                self._apis[key] = self.loop.run(
                    self.bindings.connect_to_backend(
                        f"http://{node.endpoint}", front.url, False, None, "xmtpd-e2e", None, None
                    ),
                    timeout=30,
                    what=f"connect to {gateway.alias} and {node.alias}",
                )
            return self._apis[key]

    def _gateway_index(self, alias: str) -> int:
        gateway: GatewayHandle
        for index in itertools.count():
            gateway = self._resolve_gateway(index)
            if gateway.alias == alias:
                return index
        raise AssertionError("unreachable")

    # -- what users share -------------------------------------------------------------------------
    def users(self) -> list[User]:
        with self._lock:
            return list(self._users.values())

    def wait_until_on_nodes(self, nodes: Sequence[NodeHandle], *, timeout: float = 60.0) -> None:
        """Wait until every node in ``nodes`` stores every user's identity updates and key
        packages (``xmtpd_e2e.users.visibility``): before that, a client on one of them cannot
        add a user registered through another node."""
        users = self.users()
        wait_until(
            lambda: missing_on_nodes(nodes, users),
            lambda lacking: not lacking,
            timeout=timeout,
            description=f"every node to store the identity updates and key packages of {len(users)} users",
            detail=lambda lacking: "; ".join(f"{alias} lacks {', '.join(what)}" for alias, what in lacking.items()),
        )

    def user(self, name: str) -> User:
        with self._lock:
            if name in self._users:
                return self._users[name]
        raise E2EError(f"no user {name!r}; users: {sorted(self._users)}")

    def user_error(
        self, user: str, operation: str, detail: str, *, gateway: str, node: str, since: float | None
    ) -> UserError:
        """libxmtp's error with the RPC and where it went; for a gateway, the gateway's reason."""
        detail = without_api_stats(detail)
        call = failed_call(detail, gateway=gateway, node=node)
        if call.target == gateway and since is not None:
            reason = self._gateway_reason(gateway, since)
            if reason:
                detail = f"{detail} -- {gateway} logged: {reason}"
        return UserError(user, operation, detail, call)

    def _gateway_reason(self, alias: str, since: float) -> str | None:
        """The gateway's logged reason, waiting briefly: its log reaches us a moment after its
        reply (the local runtime copies output from a pipe)."""
        try:
            handle = self._gateway_by_alias(alias)
            return wait_until(
                lambda: gateway_reason(handle.logs(), since),
                lambda reason: reason is not None,
                timeout=GATEWAY_LOG_DELAY,
                description=f"{alias}'s log of the failed publish",
            )
        except WaitTimeout:
            return None
        except Exception as error:  # a log that cannot be read must not hide the error itself
            return f"(its log could not be read: {error})"

    def _gateway_by_alias(self, alias: str) -> GatewayHandle:
        return self._resolve_gateway(self._gateway_index(alias))  # type: ignore[no-any-return]

    def name_of(self, inbox_id: str) -> str:
        """The user name(s) of an inbox (installations of one inbox share it), else the inbox id."""
        with self._lock:
            names = [u.name for u in self._users.values() if u.inbox_id == inbox_id]
        return names[0] if names else inbox_id

    def text_message(self, raw: Any) -> Message | None:
        """A libxmtp message as a :class:`Message`, or None when it is not a text message."""
        if raw.kind != self.bindings.FfiConversationMessageKind.APPLICATION:
            return None
        try:
            text = str(self.bindings.decode_text(bytes(raw.content)))
        except self.bindings.FfiError:
            return None
        return Message(
            id=bytes(raw.id).hex(),
            sender_inbox=str(raw.sender_inbox_id),
            sender=self.name_of(str(raw.sender_inbox_id)),
            text=text,
            sent_at=int(raw.sent_at_ns) / 1e9,
            published=raw.delivery_status == self.bindings.FfiDeliveryStatus.PUBLISHED,
        )

    def message_callback(self, user: User, *, on_end: Callable[[str], None]) -> Any:
        """libxmtp's callback for one stream of ``user``: messages into the history; ``on_end``
        told once, with the reason, when libxmtp ends the stream (an error, or closed)."""
        pool = self

        class Callback(self.bindings.FfiMessageCallback):  # type: ignore[name-defined,misc]
            ended = threading.Event()  # this class is made per stream: one event per stream

            def _end(self, reason: str) -> None:
                if not self.ended.is_set():
                    self.ended.set()
                    on_end(reason)

            def on_message(self, message: Any) -> None:
                parsed = pool.text_message(message)
                if parsed is None or parsed.sender_inbox == user.inbox_id:
                    return
                pool.history.received(
                    ReceivedMessage(
                        user=user.name,
                        conversation=bytes(message.conversation_id).hex(),
                        message_id=parsed.id,
                        sender_inbox=parsed.sender_inbox,
                        sender=parsed.sender,
                        text=parsed.text,
                        sent_at=parsed.sent_at,
                        received_at=time.time(),
                        how="stream",
                    )
                )

            def on_error(self, error: Any) -> None:
                pool._log.warning("%s: message stream error: %s", user.name, error)
                self._end(str(error))

            def on_close(self) -> None:
                pool._log.debug("%s: message stream closed", user.name)
                self._end("closed")

        return Callback()

    def observations(self) -> dict[str, Any]:
        """Each user's lane (see UserHistory.lanes) with the node and gateway it uses."""
        lanes = self.history.lanes()
        return {
            user.name: {"node": user.node_alias, "gateway": user.gateway_alias, **lanes.get(user.name, {})}
            for user in self.users()
        }

    # -- end --------------------------------------------------------------------------------------
    def collect(self, directory: Path) -> str:
        """Copy the client databases (SQLite, unencrypted) into ``directory``; returns the list."""
        target = directory / "databases"
        target.mkdir(parents=True, exist_ok=True)
        copied = []
        for path in sorted(self.directory.glob("*.db3*")):
            shutil.copy2(path, target / path.name)
            copied.append(f"{path.name} {path.stat().st_size} bytes")
        if self._client_log.is_dir():
            shutil.copytree(self._client_log, directory / "libxmtp-logs", dirs_exist_ok=True)
            copied.append("libxmtp-logs/")
        return "\n".join(copied) + "\n"

    def close(self) -> None:
        """Stop streams, drop clients and fronts, stop the loop, remove the databases."""
        for user in self.users():
            try:
                user.close()
            except Exception as error:  # one user's failure must not keep the others open
                self._log.warning("closing %s: %s", user.name, error)
        with self._lock:
            self._users.clear()
            self._apis.clear()
            fronts = list(self._fronts.values())
            self._fronts.clear()
        for front in fronts:
            front.close()
        self.loop.close()
        stop_client_log(self.bindings)
        shutil.rmtree(self.directory, ignore_errors=True)
