"""One broken property, with its evidence: what every checker returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Violation"]


@dataclass(frozen=True)
class Violation:
    kind: str
    message: str
    node: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "node": self.node, "message": self.message, "details": dict(self.details)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Violation:
        return cls(str(data["kind"]), str(data["message"]), data.get("node"), dict(data.get("details", {})))
