"""Publishers: the two ways a client gets envelopes into the network.

``DirectPublisher`` signs its own payer envelopes and calls a node (client = payer, upstream's
E2E).  ``GatewayPublisher`` sends unsigned client envelopes to a gateway, which signs as payer
and chooses the node (the production flow).  Both record what they published in the ledger.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import grpc

from xmtpd_e2e.chain.keys import Key
from xmtpd_e2e.client.envelopes import decode_originator_envelope, group_message_envelope, sign_payer_envelope
from xmtpd_e2e.client.errors import UNDECODABLE, PublishError, ResponseDecodeError, from_rpc_error
from xmtpd_e2e.client.gateway_api import GatewayApi
from xmtpd_e2e.client.ledger import PublishedEnvelope, PublishFailure, PublishLedger
from xmtpd_e2e.client.node_api import NodeApi
from xmtpd_e2e.client.proto import envelopes_pb2

__all__ = ["Publisher", "DirectPublisher", "GatewayPublisher"]


def _undecodable(target: str, error: ResponseDecodeError) -> PublishError:
    """The service answered (so it may have stored the envelopes) with bytes we cannot decode."""
    details = str(error).removeprefix(f"{error.address}: ")
    return PublishError(f"{target} ({error.address})", UNDECODABLE, details, False)


class Publisher(abc.ABC):
    client_name: str
    payer_address: str
    payload_size: int = 256

    def publish(self, count: int) -> list[PublishedEnvelope]:
        """Publish ``count`` fresh group messages in one request; raises PublishError."""
        return self.send([group_message_envelope(payload_size=self.payload_size) for _ in range(count)])

    @abc.abstractmethod
    def send(self, client_envelopes: list[envelopes_pb2.ClientEnvelope]) -> list[PublishedEnvelope]:
        """Publish these client envelopes in one request; raises PublishError.

        Callers that build the envelopes themselves know each one's topic before the request,
        so a failed or timed-out request can still be traced in the nodes' databases.
        """

    @abc.abstractmethod
    def close(self) -> None: ...

    def _failed(self, ledger: PublishLedger, target: str, count: int, error: PublishError) -> PublishError:
        """Note a failed request in the ledger (for the report's error track) and return the error."""
        ledger.add_failure(PublishFailure(self.client_name, target, count, str(error)))
        return error

    def _record(
        self, ledger: PublishLedger, envelopes: list[envelopes_pb2.OriginatorEnvelope], via: str, target: str
    ) -> list[PublishedEnvelope]:
        records = [
            PublishedEnvelope.from_decoded(decode_originator_envelope(e), client_name=self.client_name, via=via)
            for e in envelopes
        ]
        ledger.add(records)
        return records


class DirectPublisher(Publisher):
    def __init__(
        self,
        *,
        resolve_address: Callable[[], str],
        node_id: int,
        key: Key,
        ledger: PublishLedger,
        client_name: str,
        payload_size: int = 256,
        timeout: float | None = None,
    ) -> None:
        self._api = NodeApi(resolve_address) if timeout is None else NodeApi(resolve_address, timeout=timeout)
        self._node_id = node_id
        self._key = key
        self._ledger = ledger
        self.payload_size = payload_size
        self.client_name = client_name
        self.payer_address = key.address

    def send(self, client_envelopes: list[envelopes_pb2.ClientEnvelope]) -> list[PublishedEnvelope]:
        count = len(client_envelopes)
        payer_envelopes = [
            sign_payer_envelope(envelope.SerializeToString(), self._key, self._node_id) for envelope in client_envelopes
        ]
        target = f"node-{self._node_id}"
        try:
            envelopes = self._api.publish_payer_envelopes(payer_envelopes)
        except grpc.RpcError as error:
            raise self._failed(
                self._ledger, target, count, from_rpc_error(f"{target} ({self._api.address})", error)
            ) from None
        except ResponseDecodeError as error:
            raise self._failed(self._ledger, target, count, _undecodable(target, error)) from None
        if len(envelopes) != count:
            raise self._failed(
                self._ledger,
                target,
                count,
                PublishError(target, "INCOMPLETE", f"{len(envelopes)} of {count} envelopes returned", False),
            )
        return self._record(self._ledger, envelopes, "node", target)

    def close(self) -> None:
        self._api.close()


class GatewayPublisher(Publisher):
    def __init__(
        self,
        *,
        resolve_address: Callable[[], str],
        gateway_alias: str,
        payer_address: str,
        ledger: PublishLedger,
        client_name: str,
        payload_size: int = 256,
        timeout: float | None = None,
    ) -> None:
        self._api = GatewayApi(resolve_address) if timeout is None else GatewayApi(resolve_address, timeout=timeout)
        self._alias = gateway_alias
        self._ledger = ledger
        self.payload_size = payload_size
        self.client_name = client_name
        self.payer_address = payer_address

    def send(self, client_envelopes: list[envelopes_pb2.ClientEnvelope]) -> list[PublishedEnvelope]:
        count = len(client_envelopes)
        try:
            envelopes = self._api.publish_client_envelopes(client_envelopes)
        except grpc.RpcError as error:
            raise self._failed(
                self._ledger, self._alias, count, from_rpc_error(f"{self._alias} ({self._api.address})", error)
            ) from None
        except ResponseDecodeError as error:
            raise self._failed(self._ledger, self._alias, count, _undecodable(self._alias, error)) from None
        if len(envelopes) != count:
            raise self._failed(
                self._ledger,
                self._alias,
                count,
                PublishError(self._alias, "INCOMPLETE", f"{len(envelopes)} of {count} envelopes returned", False),
            )
        return self._record(self._ledger, envelopes, self._alias, self._alias)

    def close(self) -> None:
        self._api.close()
