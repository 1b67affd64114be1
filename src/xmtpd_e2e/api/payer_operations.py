"""Payer operations shared by gateway and client handles (both are payers with their own key)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xmtpd_e2e.chain.client import Chain
    from xmtpd_e2e.chain.keys import Key

__all__ = ["PayerOperations"]


class PayerOperations:
    """Balances and the deposit/withdrawal flow for the payer identified by ``payer_key``.

    Amounts are base units of the fee token (xUSD, 6 decimals): ``xusd(10)`` = 10 dollars.
    """

    _chain: Chain
    _payer_key: Key

    @property
    def address(self) -> str:
        """The payer's Ethereum address."""
        return self._payer_key.address

    def get_payer_balance(self) -> int:
        """Balance in the PayerRegistry (negative = debt)."""
        return self._chain.payer_balance(self.address)

    def get_fee_token_balance(self) -> int:
        return self._chain.fee_token_balance(self.address)

    def get_gas_balance(self) -> int:
        return self._chain.gas_balance(self.address)

    def deposit(self, amount: int) -> None:
        """Mint, wrap, approve and deposit ``amount`` into the PayerRegistry for this payer."""
        self._chain.fund_payer(self.address, amount)

    def request_withdrawal(self, amount: int) -> None:
        self._chain.request_payer_withdrawal(self._payer_key, amount)

    def cancel_withdrawal(self) -> None:
        self._chain.cancel_payer_withdrawal(self._payer_key)

    def finalize_withdrawal(self, recipient: str | None = None) -> None:
        self._chain.finalize_payer_withdrawal(self._payer_key, recipient or self.address)
