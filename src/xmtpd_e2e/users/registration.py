"""Creating and registering one libxmtp installation: the wallet signs what libxmtp asks it to
sign (a new inbox, or a new installation of an existing inbox), as a wallet app would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct

from xmtpd_e2e.chain.keys import Key

__all__ = ["register_client", "INBOX_NONCE"]

INBOX_NONCE = 0
"""The nonce of every user's inbox id (one inbox per wallet)."""


async def register_client(bindings: Any, api: Any, wallet: Key, database: Path) -> Any:
    """A registered ``FfiXmtpClient`` for ``wallet`` with its database at ``database``.

    Device sync (history transfer between installations) is off: its background sync groups would
    add commits the scenarios did not make.
    """
    identifier = bindings.FfiIdentifier(
        identifier=wallet.address.lower(), identifier_kind=bindings.FfiIdentifierKind.ETHEREUM
    )
    inbox_id = bindings.generate_inbox_id(identifier, INBOX_NONCE)
    options = bindings.DbOptions(db=str(database), encryption_key=None, max_db_pool_size=None, min_db_pool_size=None)
    client = await bindings.create_client(
        api,
        api,
        options,
        inbox_id,
        identifier,
        INBOX_NONCE,
        None,
        bindings.FfiDeviceSyncMode.DISABLED,
        None,
        None,
    )
    request = client.signature_request()
    if request is not None:
        text = await request.signature_text()
        signature = Account.sign_message(encode_defunct(text=text), wallet.private_key).signature
        await request.add_ecdsa_signature(bytes(signature))
        await client.register_identity(request)
    return client
