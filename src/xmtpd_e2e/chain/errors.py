"""Errors of on-chain operations."""

from __future__ import annotations

from typing import Any

from xmtpd_e2e.errors import E2EError

__all__ = ["ContractRevert", "ChainInputError"]


class ContractRevert(E2EError):
    """A call or transaction reverted; carries the decoded custom error when the ABI knows it."""

    def __init__(self, contract: str, function: str, error_name: str, error_args: dict[str, Any]) -> None:
        self.contract = contract
        self.function = function
        self.error_name = error_name
        self.error_args = error_args
        shown = ", ".join(f"{k}={v}" for k, v in error_args.items())
        super().__init__(f"{contract}.{function} reverted with {error_name}({shown})")


class ChainInputError(E2EError):
    """An operation was refused before reaching the chain because its input cannot succeed."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}; {fix}")
