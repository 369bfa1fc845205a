"""Bearer tokens with a role and an area scope.

Roles: `dispatcher` (reassigns, comments, feeds Alertmanager alerts), `department` (accepts,
handles, reports back: only its own department's tickets), `supervisor` (reassigns, supervises,
comments) and `read-only`.  A scope is an area code prefix ("310106": Jing'an only) or "*".

Tokens are configured by their SHA-256 (`token_sha256`) so the file holding them is not itself a
secret; a plain `token` is accepted for development.  Comparison is constant-time.

A token may carry `expires` (ISO 8601 with a zone): after that instant it is refused with its
own reason, so an operator reading the log can tell a stale credential from a guessed one.

The file is read like the catalog and the routing rules: every mistake at once, each as
`file:line:col: where: what; what to write`, and never with a token's value in it (the
message goes to a terminal and a service log).  A token given twice, plain or as its digest,
is refused: which role and scope a request gets would depend on the order of the entries."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from indicators.language.registry import departments, did_you_mean
from indicators.language.validate import model_at, model_keys
from indicators.language.yamlload import LoadedYaml, Position, YamlLoadError, load_yaml_text

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

    @field_validator("token_sha256", mode="before")
    @classmethod
    def _lower_case_digest(cls, v: Any) -> Any:
        """Some tools print a digest in capitals (PowerShell's Get-FileHash): the same digest."""
        return v.lower() if isinstance(v, str) else v

    @field_validator("token")
    @classmethod
    def _no_outer_spaces(cls, v: str | None) -> str | None:
        """An HTTP client sends `Bearer <token>` without spaces around it, so such a token could
        never match: refused rather than left to fail every request."""
        if v is not None and v != v.strip():
            raise ValueError(
                "the token starts or ends with a space, so no request can match it; "
                "remove the spaces"
            )
        return v

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


class TokenFileError(ValueError):
    """Everything wrong with a tokens file, one mistake per line in file order; no line holds a
    token's value."""


#: what to write, by field, after pydantic's words for a value of the wrong type or form
_FIELD_HINTS = {
    "token": "write one string of at least 16 characters, without brackets (a long random "
    'one: python -c "import secrets; print(secrets.token_urlsafe(24))")',
    "token_sha256": "write the 64 hex digits of the token's SHA-256 (see the comment at the "
    "top of alerts/examples/tokens.yaml)",
    "scope": 'write "*" for the whole city or an area code of 6-15 digits in quotes, such as '
    '"310106"',
    "expires": 'write an ISO 8601 instant with a zone, such as "2027-12-31T23:59:59+08:00"',
    "name": "write the name the audit log shows, 1-120 characters",
    "role": "write one of dispatcher, department, supervisor, read-only",
    "tokens": "write `tokens:` and a list of entries (see alerts/examples/tokens.yaml)",
}
#: a `token:` key and the text written after it, quoted or not, in block or flow style
_TOKEN_TEXT = re.compile(r"""\btoken\s*:[ \t]*("[^"\n]*"|'[^'\n]*'|[^\n,}\]#]+)""")


def load_token_file(path: Path | str) -> list[TokenSpec]:
    """The entries of a tokens file, or TokenFileError with every mistake in it."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise TokenFileError(f"{name}: cannot read the file: {e.strerror or e}") from None
    try:  # (a file saved by a Windows editor may start with a byte-order mark)
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise TokenFileError(
            f"{name}:{line}:{col}: byte 0x{raw[e.start]:02x} is not UTF-8; save the file as UTF-8"
        ) from None
    secrets = _written_tokens(text)
    try:
        loaded = load_yaml_text(text)
    except YamlLoadError as e:
        at = e.position
        raise TokenFileError(f"{name}:{at.line}:{at.col}: {_hide(e.message, secrets)}") from None
    data = {} if loaded.data is None else loaded.data
    found = _repeated_tokens(data, loaded)
    specs: list[TokenSpec] = []
    try:
        specs = TokenFile.model_validate(data).tokens
    except ValidationError as e:
        found += [_validation_error(err, loaded) for err in e.errors()]
    if not found and not specs:
        found.append((Position(1, 1), "tokens: no tokens, so every request would be refused; "
                      "list at least one (see alerts/examples/tokens.yaml)"))  # fmt: skip
    if found:
        lines = [f"{name}:{at.line}:{at.col}: {_hide(msg, secrets)}"
                 for at, msg in sorted(found, key=lambda f: (f[0].line, f[0].col))]  # fmt: skip
        raise TokenFileError("\n".join(lines))
    return specs


def _validation_error(err: Any, loaded: LoadedYaml) -> tuple[Position, str]:
    """One pydantic error as (where, message): its own words (which never hold the value:
    `input` is left out), and what to write."""
    loc = tuple(err["loc"])
    where = ".".join(str(p) for p in loc) or "the file"
    if err["type"] == "extra_forbidden":
        owner = model_at(TokenFile, loc[:-1])
        keys = model_keys(owner) if owner is not None else []
        key = str(loc[-1])
        return loaded.position(loc, key=True), (
            f'{where}: unknown key "{key}"{did_you_mean(key, keys)}; the keys here are: '
            f"{', '.join(keys)}"
        )
    if err["type"] == "missing":
        return loaded.position(loc[:-1]), f"{where}: missing; {_FIELD_HINTS[str(loc[-1])]}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    said = ("value_error", "literal_error")  # the message says what to write already
    hint = _FIELD_HINTS.get(str(loc[-1])) if loc and err["type"] not in said else None
    return loaded.position(loc), f"{where}: {msg}" + (f"; {hint}" if hint else "")


def _repeated_tokens(data: Any, loaded: LoadedYaml) -> list[tuple[Position, str]]:
    """An error at each entry whose token (plain, or its digest) an earlier entry has, naming
    both entries' lines."""
    entries = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return []
    first: dict[str, tuple[int, Position]] = {}
    found = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        for key in ("token", "token_sha256"):
            value = entry.get(key)
            if not isinstance(value, str):
                continue
            digest = sha256(value) if key == "token" else value.lower()
            at = loaded.position(("tokens", i, key))
            if digest not in first:
                first[digest] = (i, at)
                continue
            j, other = first[digest]
            found.append((at, (
                f"tokens.{i}.{key}: the same token as tokens.{j} {_entry_name(entries[j])} on "
                f"line {other.line}; this entry {_entry_name(entry)} is on line {at.line}, and "
                "which role and scope a request got would depend on the order: give each "
                "entry its own token, or delete one of them"
            )))  # fmt: skip
    return found


def _entry_name(entry: dict[str, Any]) -> str:
    name = entry.get("name")
    return f'"{name}"' if isinstance(name, str) else "(no name)"


def _written_tokens(text: str) -> list[str]:
    """The text after each `token:` key, as written: hidden from every message, even a syntax
    error's (which may quote the line)."""
    values = (m.group(1).strip().strip("'\"[ ") for m in _TOKEN_TEXT.finditer(text))
    return sorted({v for v in values if v}, key=len, reverse=True)


def _hide(message: str, secrets: list[str]) -> str:
    """`message` with each of `secrets` that stands on its own (not inside a longer word: a
    token "tok" leaves "tokens" alone) replaced by "(the token)"."""
    for secret in secrets:
        message = re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", "(the token)", message)
    return message


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
            if (same := self._by_digest.get(s.digest())) is not None:  # (a file says where)
                raise ValueError(f"tokens {same.name!r} and {s.name!r} are the same token")
            self._by_digest[s.digest()] = Principal(s.name, s.role, s.scope, s.department,
                                                    expires)  # fmt: skip

    @classmethod
    def from_file(cls, path: Path | str) -> TokenRegistry:
        """The tokens of a file, or TokenFileError with every mistake in it."""
        return cls(load_token_file(path))

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
