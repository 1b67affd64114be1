"""ClientHandle: a traffic source publishing group messages, straight to a node or via a gateway.

Two modes, named for what they are:

* **direct** (``env.new_client(100)``): the client signs its own payer envelopes and publishes to
  node 100's API -- client and payer at once, as upstream's E2E does.
* **via gateway** (``env.new_client(via_gateway=0)``): the client sends unsigned client envelopes
  to gateway 0, which picks the node and pays (the production flow).

Every envelope published is recorded in the environment's ledger (originator, sequence id, hash)
so the global invariants can check each one reached every node.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from xmtpd_e2e.api.payer_operations import PayerOperations

if TYPE_CHECKING:
    from xmtpd_e2e.chain.client import Chain
    from xmtpd_e2e.chain.keys import Key
    from xmtpd_e2e.client.ledger import PublishedEnvelope
    from xmtpd_e2e.client.proto.envelopes_pb2 import ClientEnvelope
    from xmtpd_e2e.client.publisher import Publisher
    from xmtpd_e2e.client.traffic import TrafficGenerator

__all__ = ["ClientHandle"]


class ClientHandle(PayerOperations):
    def __init__(
        self,
        *,
        name: str,
        key: Key,
        publisher: Publisher,
        chain: Chain,
        logger: logging.Logger,
        node_id: int | None = None,
        gateway_index: int | None = None,
    ) -> None:
        self._name = name
        self._payer_key = key
        self._publisher = publisher
        self._chain = chain
        self._log = logger
        self._node_id = node_id
        self._gateway_index = gateway_index
        self._traffic: list[TrafficGenerator] = []

    def __repr__(self) -> str:
        target = f"node {self._node_id}" if self._node_id is not None else f"gateway {self._gateway_index}"
        return f"ClientHandle({self._name} -> {target})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def node_id(self) -> int | None:
        """Target node id in direct mode (None when publishing through a gateway)."""
        return self._node_id

    @property
    def gateway_index(self) -> int | None:
        return self._gateway_index

    @property
    def via_gateway(self) -> bool:
        return self._gateway_index is not None

    @property
    def key(self) -> Key:
        return self._payer_key

    @property
    def payer_address(self) -> str:
        """Who pays for this client's envelopes: itself (direct) or the gateway."""
        return self._publisher.payer_address

    def publish_envelopes(self, count: int, *, batch_size: int | None = None) -> list[PublishedEnvelope]:
        """Publish ``count`` group messages synchronously (in batches); returns their records."""
        if count < 1:
            raise ValueError("count must be at least 1")
        size = batch_size or count
        published: list[PublishedEnvelope] = []
        while len(published) < count:
            published.extend(self._publisher.publish(min(size, count - len(published))))
        self._log.info("%s published %d envelopes", self._name, len(published))
        return published

    def publish_client_envelopes(self, envelopes: list[ClientEnvelope]) -> list[PublishedEnvelope]:
        """Publish envelopes built by the caller (e.g. with ``client.envelopes.group_message_envelope``)
        in one request; the caller then knows every envelope's topic even if the request fails."""
        if not envelopes:
            raise ValueError("envelopes must not be empty")
        return self._publisher.send(envelopes)

    def generate_traffic(
        self,
        duration: float | None = None,
        *,
        batch_size: int = 10,
        concurrency: int = 1,
        interval: float = 0.0,
        continue_on_error: bool = False,
    ) -> TrafficGenerator:
        """Publish in the background for ``duration`` seconds, or until ``stop()`` when it is None.

        Returns the generator: ``stop()`` it (or this client), then read ``published_count`` and
        ``error``; every envelope it publishes is in ``env.published`` too.
        """
        from xmtpd_e2e.client.traffic import TrafficGenerator

        generator = TrafficGenerator(
            self._publisher,
            batch_size=batch_size,
            duration=duration,
            concurrency=concurrency,
            interval=interval,
            continue_on_error=continue_on_error,
            name=self._name,
        )
        generator.start()
        self._traffic.append(generator)
        return generator

    def stop(self) -> None:
        """Stop every background traffic generator of this client and wait for them."""
        for generator in self._traffic:
            generator.stop()
        self._traffic.clear()

    def close(self) -> None:
        self.stop()
        self._publisher.close()
