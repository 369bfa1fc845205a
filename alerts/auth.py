"""Bearer tokens with a role and an area scope.

Roles: `dispatcher` (reassigns, comments, feeds Alertmanager alerts), `department` (accepts,
handles, reports back: only its own department's tickets), `supervisor` (reassigns, supervises,
comments) and `read-only`.  A scope is an area code prefix ("310106": Jing'an only) or "*".

Tokens are configured by their SHA-256 (`token_sha256`) so the file holding them is not itself a
secret; a plain `token` is accepted for development.  Comparison is constant-time.

A token may carry `expires` (ISO 8601 with a zone): after that instant it is refused with its
own reason, so an operator reading the log can tell a stale credential from a guessed one."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from indicators.language.registry import departments

Role = Literal["dispatcher", "department", "supervisor", "read-only"]

PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"dispatcher", "department", "supervisor", "read-only"}),
    "accept": frozenset({"department"}),
    "start": frozenset({"department"}),
    "feedback": frozenset({"department"}),
    "comment": frozenset({"dispatcher", "department", "supervisor"}),
    "reassign": frozenset({"dispatcher", "supervisor"}),
    "supervise": frozenset({"supervisor"}),
    "alertmanager": frozenset({"dispatcher"}),
}


class TokenSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=120, description="shown in the audit log")
    role: Role
    scope: str = Field("*", pattern=r"^(\*|\d{6,15})$")
    department: str | None = None
    token_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    token: str | None = Field(None, min_length=16)
    expires: datetime | None = Field(None, description="ISO 8601 instant with a zone")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.expires is not None and self.expires.utcoffset() is None:
            raise ValueError(f"token {self.name!r}: `expires` needs a zone (Z or +08:00)")
        if (self.token is None) == (self.token_sha256 is None):
            raise ValueError(f"token {self.name!r}: give exactly one of token_sha256 or token")
        if self.role == "department" and self.department is None:
            raise ValueError(f"token {self.name!r}: a department token needs `department`")
        if self.department is not None and self.department not in departments():
            raise ValueError(f"token {self.name!r}: unknown department {self.department!r}")
        return self

    def digest(self) -> str:
        if self.token_sha256 is not None:
            return self.token_sha256
        assert self.token is not None
        return sha256(self.token)


class TokenFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tokens: list[TokenSpec]


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    scope: str
    department: str | None
    expires: float | None = None  # epoch seconds; None = never

    def may(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


AuthFailure = Literal["missing", "unknown", "expired"]


class TokenRegistry:
    def __init__(self, specs: Iterable[TokenSpec], clock: Callable[[], float] = time.time) -> None:
        self._by_digest: dict[str, Principal] = {}
        self._clock = clock
        for s in specs:
            expires = s.expires.timestamp() if s.expires is not None else None
            self._by_digest[s.digest()] = Principal(s.name, s.role, s.scope, s.department,
                                                    expires)  # fmt: skip

    @classmethod
    def from_file(cls, path: Path | str) -> TokenRegistry:
        data = yaml.safe_load(Path(path).read_text("utf-8")) or {}
        return cls(TokenFile.model_validate(data).tokens)

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal of an `Authorization: Bearer ...` header, or None (also when the
        token has expired)."""
        who, failure = self.identify(authorization)
        return who if failure is None else None

    def identify(self, authorization: str | None) -> tuple[Principal | None, AuthFailure | None]:
        """(principal, None) for a valid token, else (None, why) -- or, for an expired
        token, (its principal, "expired"): the name is logged, the request refused."""
        if not authorization:
            return None, "missing"
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, "missing"
        digest = sha256(token.strip())
        for known, principal in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                if principal.expires is not None and self._clock() >= principal.expires:
                    return principal, "expired"
                return principal, None
        return None, "unknown"
