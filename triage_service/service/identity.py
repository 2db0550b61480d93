"""Signing in through an organisation's identity provider: starting a sign-in (kept in the
store under its `state`, bound to the browser that started it), finishing it (the code
exchanged, the ID token checked, the person placed here by the provider's claim mapping) and
signing out at the provider too."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from triage_service.domain.codes import Role
from triage_service.domain.errors import Conflict, Forbidden, NotFound
from triage_service.domain.providers import (
    ClaimsRefused,
    Identity,
    Provider,
    identity_from_claims,
)
from triage_service.domain.teams import DEFAULT_BOARD
from triage_service.domain.users import User
from triage_service.service.accounts import (
    DuplicateUser,
    checked_account,
    get_user,
    username_problem,
)
from triage_service.service.oidc import OidcClient, OidcError, Pkce
from triage_service.service.sessions import end_user_sessions
from triage_service.store.store import Store

FLOW_TTL_S = 600  # a sign-in must come back from the provider within ten minutes


@dataclass(frozen=True, slots=True)
class SignInStart:
    """Where to send the browser, and the secret that binds the sign-in to it."""

    url: str
    browser_secret: str


@dataclass(frozen=True, slots=True)
class ProviderSignIn:
    """A finished sign-in: the account, the ID token (to sign out at the provider later)
    and the page the person asked for, if any."""

    user: User
    id_token: str
    next_page: str


async def begin_sign_in(
    store: Store, client: OidcClient, provider: Provider, *, redirect_uri: str, next_page: str
) -> SignInStart:
    """Start a sign-in: a fresh `state`, `nonce` and PKCE verifier kept for ten minutes,
    and the provider's authorization URL."""
    metadata = await client.metadata(provider)
    state, nonce, secret, pkce = (
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(32),
        Pkce.new(),
    )
    flow = {
        "provider": provider.id,
        "nonce": nonce,
        "verifier": pkce.verifier,
        "browser": _digest(secret),
        "redirect_uri": redirect_uri,
        "next": next_page,
    }
    await store.identities.begin_flow(state, flow, ttl_s=FLOW_TTL_S)
    url = client.authorization_url(
        provider, metadata, redirect_uri=redirect_uri, state=state, nonce=nonce, pkce=pkce
    )
    return SignInStart(url, secret)


async def finish_sign_in(
    store: Store,
    client: OidcClient,
    provider: Provider,
    *,
    state: str,
    code: str,
    browser_secret: str,
    board_ids: tuple[str, ...],
    now_ms: int,
) -> ProviderSignIn:
    """Finish a sign-in: its `state` is used up whatever happens next; it must come back to
    the browser that started it; the code is exchanged and the ID token checked; the person
    is placed by the claim mapping. `OidcError`, `Forbidden` or `Conflict` otherwise."""
    flow = await store.identities.take_flow(state)
    if (
        flow is None
        or flow["provider"] != provider.id
        or not secrets.compare_digest(flow["browser"], _digest(browser_secret))
    ):
        raise OidcError("bad_state", "This sign-in is unknown, used or expired: start again.")
    metadata = await client.metadata(provider)
    id_token = await client.exchange(
        provider,
        metadata,
        code=code,
        redirect_uri=flow["redirect_uri"],
        verifier=flow["verifier"],
    )
    claims = await client.verified_claims(provider, metadata, id_token, nonce=flow["nonce"])
    try:
        identity = identity_from_claims(provider, claims, board_ids=board_ids)
    except ClaimsRefused as e:
        raise Forbidden(e.code, str(e)) from e
    user = await account_for(store, provider, identity, now_ms=now_ms)
    return ProviderSignIn(user, id_token, flow["next"])


async def account_for(store: Store, provider: Provider, identity: Identity, *, now_ms: int) -> User:
    """The account the provider's subject is linked to (created on first sign-in where the
    provider may create accounts), brought in line with the claims; a disabled account
    stays disabled whatever the provider says."""
    can_create = provider.create_accounts and identity.role is not None
    if identity.role is Role.RECEIVER and not identity.team:
        raise Forbidden("no_team", f"{provider.name} names no team for you.")
    new_id = secrets.token_hex(8)
    linked = await store.identities.account_for(
        subject_key(provider.issuer, identity.subject),
        new_id=new_id,
        usernames=usernames_for(provider, identity),
        account=_new_account(new_id, provider.issuer, identity, now_ms),
        create=can_create,
    )
    if linked.outcome == "unknown" or linked.user_id is None:
        raise Forbidden(
            "not_provisioned",
            "You have no account here yet: ask an administrator to add you.",
        )
    if linked.outcome == "taken":
        raise Conflict("username_taken", "Your username is taken here: ask an administrator.")
    if (await store.accounts.load(linked.user_id)).get("disabled"):
        raise Forbidden("account_disabled", "Your account here is disabled.")
    return await _brought_in_line(store, linked.user_id, identity)


def usernames_for(provider: Provider, identity: Identity) -> tuple[str, str]:
    """The username a new account takes, and the one it takes when that is taken: the
    claim's, unless it breaks the username rules (look-alike letters, say), in which case
    one made from the provider and a hash of the subject."""
    wanted = identity.username
    if username_problem(wanted):
        digest = hashlib.sha256(identity.subject.encode()).hexdigest()[:12]
        wanted = f"{provider.id}-{digest}"
    return wanted, f"{wanted}.{provider.id}"[:64]


async def _brought_in_line(store: Store, user_id: str, identity: Identity) -> User:
    """The account with the role, boards, team and name the provider now vouches for (its
    other sessions end when its role or boards change)."""
    user = await get_user(store, user_id)
    if user is None:  # pragma: no cover - linked accounts are never deleted
        raise Forbidden("not_provisioned", "Your account here is gone.")
    changes: dict[str, str] = {}
    if identity.role is not None and identity.role is not user.role:
        changes["role"] = identity.role.value
    if identity.boards is not None and identity.boards != user.boards:
        changes["boards"] = ",".join(identity.boards)
    if identity.team is not None and identity.team != user.team:
        changes["team"] = identity.team
    if identity.display_name != user.display_name:
        changes["display_name"] = identity.display_name
    if not changes:
        return user
    await store.accounts.save(user_id, changes)
    if changes.keys() - {"display_name"}:
        await end_user_sessions(store, user_id)
    found = await get_user(store, user_id)
    if found is None:  # deleted meanwhile
        raise NotFound("user")
    return found


def _new_account(
    user_id: str, issuer: str, identity: Identity, now_ms: int
) -> dict[str, str | int]:
    account: dict[str, str | int] = {
        "id": user_id,
        "display_name": identity.display_name,
        "role": (identity.role or Role.OFFICER).value,
        "boards": ",".join(identity.boards or ()),
        "oidc_issuer": issuer,
        "oidc_subject": identity.subject,
        "created_ms": now_ms,
    }
    if identity.team:
        account["team"] = identity.team
    return account


async def remember_provider_session(
    store: Store, token: str, provider: Provider, id_token: str, *, ttl_s: int
) -> None:
    """Note the provider and ID token behind a sign-in session (to sign out there too)."""
    session = json.dumps({"provider": provider.id, "id_token": id_token})
    await store.identities.remember_session(token, session, ttl_s=ttl_s)


async def provider_sign_out_url(
    store: Store,
    client: OidcClient,
    providers: dict[str, Provider],
    *,
    token: str,
    after: str,
) -> str | None:
    """Where the browser ends its provider session after signing out here (RP-initiated
    logout), when the session came from a provider that offers an end-session endpoint."""
    raw = await store.identities.forget_session(token)
    if raw is None:
        return None
    noted = json.loads(raw)
    provider = providers.get(noted.get("provider", ""))
    if provider is None:
        return None
    try:
        metadata = await client.metadata(provider)
    except OidcError:
        return None
    if metadata.end_session_endpoint is None:
        return None
    query = {
        "id_token_hint": noted["id_token"],
        "post_logout_redirect_uri": after,
        "client_id": provider.client_id,
    }
    separator = "&" if "?" in metadata.end_session_endpoint else "?"
    return metadata.end_session_endpoint + separator + urlencode(query)


async def provision_account(
    store: Store,
    *,
    username: str,
    role: Role,
    oidc: str,
    issuers: Iterable[str] = (),
    display_name: str | None = None,
    boards: tuple[str, ...] = (),
    team: str | None = None,
    known_boards: Iterable[str] = (DEFAULT_BOARD,),
    now_ms: int,
) -> User:
    """An account without a password, for the person a provider calls `oidc`
    (`ISSUER:SUBJECT`), ready for their first sign-in there (`user add --oidc`);
    `DuplicateUser` when the username or the subject is taken, ValueError for bad input."""
    issuer, subject = split_subject(oidc, issuers)
    team = checked_account(
        role, username=username, display_name=display_name, team=team, known_boards=known_boards
    )
    identity = Identity(subject, username, display_name or username, role, boards, team)
    new_id = secrets.token_hex(8)
    linked = await store.identities.account_for(
        subject_key(issuer, subject),
        new_id=new_id,
        usernames=(username, ""),
        account=_new_account(new_id, issuer, identity, now_ms),
        create=True,
    )
    if linked.outcome == "existing":
        raise DuplicateUser(f"{issuer} subject {subject!r} already has an account")
    if linked.outcome != "created" or linked.user_id is None:
        raise DuplicateUser(f"user {username!r} already exists")
    user = await get_user(store, linked.user_id)
    if user is None:  # deleted meanwhile
        raise NotFound("user")
    return user


def split_subject(oidc: str, issuers: Iterable[str] = ()) -> tuple[str, str]:
    """`ISSUER:SUBJECT` as (issuer, subject): after the longest configured issuer it starts
    with, else at the last colon (an issuer URL holds colons of its own)."""
    known = sorted((i for i in issuers if oidc.startswith(i + ":")), key=len, reverse=True)
    issuer, _, subject = (
        (known[0], ":", oidc[len(known[0]) + 1 :]) if known else oidc.rpartition(":")
    )
    if not issuer.startswith(("https://", "http://")) or " " in issuer or not subject:
        raise ValueError(f"--oidc must look like ISSUER:SUBJECT (an https:// issuer), not {oidc!r}")
    return issuer, subject


def subject_key(issuer: str, subject: str) -> str:
    """How a provider's subject is indexed: issuer and subject (issuers hold no spaces)."""
    return f"{issuer} {subject}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
