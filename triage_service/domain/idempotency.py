"""Idempotency keys: a client's retry of a state change gets the first answer again."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from triage_service.domain.errors import Invalid

TTL_S = 24 * 3600
MAX_KEY_LENGTH = 128
HEADER = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class Idempotency:
    """One user's key for one change: `scope` names the change (method, path and a digest of
    the body), so the same key sent with a different change is refused."""

    user_id: str
    key: str
    scope: str
    ttl_s: int = TTL_S

    def to_json(self) -> str:
        """The form the lifecycle scripts read (their last argument)."""
        return json.dumps(
            {"user": self.user_id, "key": self.key, "scope": self.scope, "ttl_s": self.ttl_s}
        )


def check_key(key: str) -> str:
    """The key if it is 1-128 printable ASCII characters, else `Invalid` naming the header."""
    if not (1 <= len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()):
        raise Invalid(
            "validation_error",
            f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable ASCII characters.",
            fields={HEADER: f"1-{MAX_KEY_LENGTH} printable ASCII characters"},
        )
    return key


def scope_of(method: str, path: str, body: str) -> str:
    """The change a key stands for: the method, the path and a digest of the (canonical) body."""
    digest = hashlib.sha256(body.encode()).hexdigest()[:32]
    return f"{method} {path} {digest}"


def reused() -> Invalid:
    """The 422 for a key already used for a different change."""
    return Invalid(
        "idempotency_key_reused",
        f"This {HEADER} was already used for a different change; send a new key.",
        fields={HEADER: "already used for a different change"},
    )
