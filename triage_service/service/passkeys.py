"""Passkeys (WebAuthn): registering one for a local account, and signing in with it. The
ceremonies (challenge, origin, relying party, signature, user verification) are checked by
py_webauthn; a passkey with user verification is two factors at once (the device and its
PIN or biometric), so it is a whole sign-in."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from triage_service.domain.errors import DomainError
from triage_service.domain.users import User
from triage_service.service.accounts import get_user
from triage_service.service.mfa import SERVICE_LABEL
from triage_service.store.store import Store

CEREMONY_TTL_S = 300  # a passkey prompt must be answered within five minutes
TIMEOUT_MS = 120_000


class PasskeyRefused(DomainError):
    """A passkey registration or sign-in that does not verify (401 or 422)."""


@dataclass(frozen=True, slots=True)
class Ceremony:
    """A WebAuthn prompt for the browser: its id (sent back with the answer) and options."""

    id: str
    options: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """This service as WebAuthn sees it: the origin pages are served from, and its host
    (the relying party id passkeys are bound to)."""

    origin: str

    @property
    def id(self) -> str:
        """The relying party id: the origin's host name."""
        return urlsplit(self.origin).hostname or ""


async def registration_options(store: Store, user: User, party: RelyingParty) -> Ceremony:
    """Options for `navigator.credentials.create()`: a discoverable passkey with user
    verification, none of the user's existing ones again."""
    existing = await store.factors.passkeys(user.id)
    options = generate_registration_options(
        rp_id=party.id,
        rp_name=SERVICE_LABEL,
        user_name=user.username,
        user_id=user.id.encode(),
        user_display_name=user.display_name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in existing
        ],
    )
    return await _begin(
        store, "register", user.id, party, options.challenge, json.loads(options_to_json(options))
    )


async def register(
    store: Store,
    user: User,
    party: RelyingParty,
    ceremony_id: str,
    credential: dict[str, Any],
    *,
    now_ms: int,
) -> str:
    """Check the browser's answer to a registration prompt of this user's and keep the new
    passkey; its credential id."""
    challenge = await _take(store, "register", user.id, ceremony_id)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=party.id,
            expected_origin=party.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as e:
        raise PasskeyRefused("invalid_passkey", f"The passkey could not be checked: {e}") from e
    credential_id = bytes_to_base64url(verified.credential_id)
    passkey = {
        "public_key": bytes_to_base64url(verified.credential_public_key),
        "sign_count": verified.sign_count,
        "created_ms": now_ms,
    }
    if not await store.factors.add_passkey(user.id, credential_id, json.dumps(passkey)):
        raise PasskeyRefused("invalid_passkey", "This passkey is registered already.")
    return credential_id


async def sign_in_options(store: Store, party: RelyingParty, user_id: str | None) -> Ceremony:
    """Options for `navigator.credentials.get()`: the user's passkeys when the username is
    known, else any passkey of this service the device holds (discoverable)."""
    allowed = list(await store.factors.passkeys(user_id)) if user_id else []
    options = generate_authentication_options(
        rp_id=party.id,
        timeout=TIMEOUT_MS,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in allowed
        ],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return await _begin(
        store, "sign_in", "", party, options.challenge, json.loads(options_to_json(options))
    )


async def passkey_user(store: Store, credential: dict[str, Any]) -> str | None:
    """The id of the user whose passkey the answer names (before it is checked), if any."""
    credential_id = credential.get("id")
    return (
        await store.factors.passkey_owner(credential_id) if isinstance(credential_id, str) else None
    )


async def authenticate(
    store: Store, party: RelyingParty, ceremony_id: str, credential: dict[str, Any], *, now_ms: int
) -> User:
    """Check the browser's answer to a sign-in prompt: a registered passkey, signed over this
    challenge for this origin with user verification; its (enabled) account."""
    challenge = await _take(store, "sign_in", "", ceremony_id)
    user_id = await passkey_user(store, credential)
    stored = (await store.factors.passkeys(user_id)).get(credential["id"]) if user_id else None
    if user_id is None or stored is None or not _handle_matches(credential, user_id):
        raise PasskeyRefused("invalid_passkey", "This passkey is not registered here.")
    passkey = json.loads(stored)
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=party.id,
            expected_origin=party.origin,
            credential_public_key=base64url_to_bytes(passkey["public_key"]),
            credential_current_sign_count=int(passkey["sign_count"]),
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as e:
        raise PasskeyRefused("invalid_passkey", f"The passkey did not verify: {e}") from e
    passkey |= {"sign_count": verified.new_sign_count, "used_ms": now_ms}
    await store.factors.update_passkey(user_id, credential["id"], json.dumps(passkey))
    user = await get_user(store, user_id)
    if user is None or (await store.accounts.load(user_id)).get("disabled"):
        raise PasskeyRefused("invalid_passkey", "This passkey's account cannot sign in.")
    return user


def _handle_matches(credential: dict[str, Any], user_id: str) -> bool:
    """A discoverable passkey names its user (`userHandle`): it must be the owner."""
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if not handle:
        return True
    try:
        return base64url_to_bytes(str(handle)) == user_id.encode()
    except ValueError:
        return False


async def _begin(
    store: Store,
    kind: str,
    user_id: str,
    party: RelyingParty,
    challenge: bytes,
    options: dict[str, Any],
) -> Ceremony:
    ceremony_id = secrets.token_urlsafe(24)
    ceremony = {
        "kind": kind,
        "user_id": user_id,
        "challenge": bytes_to_base64url(challenge),
        "origin": party.origin,
    }
    await store.factors.begin_ceremony(ceremony_id, json.dumps(ceremony), ttl_s=CEREMONY_TTL_S)
    return Ceremony(ceremony_id, options)


async def _take(store: Store, kind: str, user_id: str, ceremony_id: str) -> bytes:
    """The challenge of a prompt of this kind for this user; used up now, whatever follows."""
    raw = await store.factors.take_ceremony(ceremony_id)
    ceremony = json.loads(raw) if raw else None
    if ceremony is None or ceremony["kind"] != kind or ceremony["user_id"] != user_id:
        raise PasskeyRefused("invalid_passkey", "This passkey prompt is unknown or expired.")
    return base64url_to_bytes(ceremony["challenge"])
