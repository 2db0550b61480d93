"""The OpenID Connect relying party: discovery from the issuer, the authorization request
(code flow, PKCE S256, `state`, `nonce`), the code exchange (client secret or a private-key
JWT) and the ID token checks (signature by a key the provider publishes, issuer, audience,
expiry, nonce). The JOSE work is joserfc's; nothing here signs or verifies by hand."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from triage_service.domain.providers import Provider

# Asymmetric signatures only: a token "signed" with `none` or with an HMAC over a public key
# is refused, whatever its header says.
ALGORITHMS = frozenset(
    {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
        "Ed25519",
    }
)
LEEWAY_S = 60  # clock difference tolerated on exp, iat and nbf
METADATA_TTL_S = 3600  # discovery documents and keys are fetched again after this long
KEYS_RETRY_S = 30  # an unknown key id fetches the keys again, at most this often
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PrivateKey = RSAKey | ECKey | OKPKey
SIGNING = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}


class OidcError(Exception):
    """A sign-in through a provider failed; `code` says where (the user sees the message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Metadata:
    """What the provider's discovery document says this service needs."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    algorithms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pkce:
    """A PKCE pair: the verifier kept here, the S256 challenge sent to the provider."""

    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        """A fresh 256-bit verifier and its S256 challenge (RFC 7636 §4.2)."""
        verifier = secrets.token_urlsafe(32)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


class ProviderHttp(Protocol):
    """How the client reaches a provider (web/provider_http.py): each answer a JSON object,
    each failure to get one an `OidcError`."""

    async def get_json(self, url: str) -> dict[str, Any]:
        """The JSON object a GET of `url` answers with 200 (`provider_unreachable` else)."""
        ...

    async def post_form(
        self, url: str, form: dict[str, str], headers: dict[str, str]
    ) -> dict[str, Any]:
        """The JSON object a form POST answers with 200 (`token_refused` for an answer
        that is not, `provider_unreachable` for none)."""
        ...


class OidcClient:
    """Talks to the providers: discovery and keys (cached per instance: public data, not
    state), authorization URLs, code exchange and ID token checks."""

    def __init__(self, http: ProviderHttp, *, clock_s: Callable[[], float] = time.time) -> None:
        self.http = http
        self.clock_s = clock_s
        self._metadata: dict[str, tuple[float, Metadata]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}
        self._private_keys: dict[str, PrivateKey] = {}

    async def metadata(self, provider: Provider) -> Metadata:
        """The provider's discovery document (`/.well-known/openid-configuration`), whose
        `issuer` must be exactly the configured one."""
        cached = self._metadata.get(provider.issuer)
        if cached and self.clock_s() - cached[0] < METADATA_TTL_S:
            return cached[1]
        url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
        found = await self.http.get_json(url)
        if found.get("issuer") != provider.issuer:
            raise OidcError(
                "bad_discovery", f"{provider.name} names another issuer: {found.get('issuer')!r}"
            )
        try:
            metadata = Metadata(
                issuer=found["issuer"],
                authorization_endpoint=_url(found["authorization_endpoint"]),
                token_endpoint=_url(found["token_endpoint"]),
                jwks_uri=_url(found["jwks_uri"]),
                end_session_endpoint=_url(found.get("end_session_endpoint")) or None,
                algorithms=_algorithms(found.get("id_token_signing_alg_values_supported")),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise OidcError("bad_discovery", f"{provider.name}'s discovery is incomplete") from e
        self._metadata[provider.issuer] = (self.clock_s(), metadata)
        return metadata

    def authorization_url(
        self,
        provider: Provider,
        metadata: Metadata,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        pkce: Pkce,
    ) -> str:
        """Where to send the browser: the code flow with PKCE S256, `state` and `nonce`."""
        query = {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(provider.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        return metadata.authorization_endpoint + separator + urlencode(query)

    async def exchange(
        self, provider: Provider, metadata: Metadata, *, code: str, redirect_uri: str, verifier: str
    ) -> str:
        """Trade the authorization code (with the PKCE verifier) for tokens; the ID token."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        headers = {}
        if provider.client_secret is not None:
            # client_secret_basic: each part form-encoded first (RFC 6749 §2.3.1).
            pair = f"{quote(provider.client_id, safe='')}:{quote(provider.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_assertion_type"] = ASSERTION_TYPE
            form["client_assertion"] = self.client_assertion(provider, metadata)
        answer = await self.http.post_form(metadata.token_endpoint, form, headers)
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("token_refused", f"{provider.name} sent no ID token")
        return id_token

    def client_assertion(self, provider: Provider, metadata: Metadata) -> str:
        """A private-key JWT authenticating this service to the token endpoint (RFC 7523)."""
        key = self.private_key(provider)
        now = int(self.clock_s())
        claims = {
            "iss": provider.client_id,
            "sub": provider.client_id,
            "aud": metadata.token_endpoint,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 60,
        }
        header = {"alg": SIGNING[key.key_type], "kid": key.thumbprint()}
        return jwt.encode(header, claims, key, algorithms=[header["alg"]])

    async def verified_claims(
        self, provider: Provider, metadata: Metadata, id_token: str, *, nonce: str
    ) -> dict[str, Any]:
        """The ID token's claims once its signature (a key the provider publishes), issuer,
        audience (and authorized party), expiry, issue time and nonce are checked;
        `OidcError("id_token_invalid")` naming the failed check otherwise."""
        token = await self._decoded(provider, metadata, id_token)
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            now=int(self.clock_s()),
            leeway=LEEWAY_S,
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": provider.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as e:
            raise OidcError("id_token_invalid", f"the ID token failed a check: {e}") from e
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != provider.client_id:
            raise OidcError("id_token_invalid", "the ID token is for another party (azp)")
        return claims

    async def _decoded(self, provider: Provider, metadata: Metadata, id_token: str) -> jwt.Token:
        """The token with its signature checked against the provider's keys (fetched again
        once when it names a key not seen yet: the provider may have rotated its keys)."""
        for refresh in (False, True):
            keys = await self._keyset(provider, metadata, refresh=refresh)
            try:
                return jwt.decode(id_token, keys, algorithms=list(metadata.algorithms))
            except (JoseError, ValueError) as e:
                if refresh or not self._may_refresh(provider):
                    raise OidcError(
                        "id_token_invalid", f"the ID token's signature does not verify: {e}"
                    ) from e
        raise AssertionError("unreachable")  # pragma: no cover

    def _may_refresh(self, provider: Provider) -> bool:
        cached = self._keys.get(provider.issuer)
        return cached is None or self.clock_s() - cached[0] >= KEYS_RETRY_S

    async def _keyset(self, provider: Provider, metadata: Metadata, *, refresh: bool) -> KeySet:
        cached = self._keys.get(provider.issuer)
        if cached and not refresh and self.clock_s() - cached[0] < METADATA_TTL_S:
            return cached[1]
        found = await self.http.get_json(metadata.jwks_uri)
        try:
            keys = KeySet.import_key_set(
                {"keys": [k for k in found.get("keys", []) if k.get("use", "sig") == "sig"]}
            )
        except (JoseError, ValueError, TypeError, AttributeError) as e:
            raise OidcError("bad_discovery", f"{provider.name}'s keys cannot be read") from e
        self._keys[provider.issuer] = (self.clock_s(), keys)
        return keys

    def private_key(self, provider: Provider) -> PrivateKey:
        """The key the provider's client assertions are signed with, read once from its
        `private_key_file`; ValueError or OSError when it cannot be."""
        if provider.id not in self._private_keys:
            path = Path(provider.private_key_file or "")
            self._private_keys[provider.id] = load_private_key(path)
        return self._private_keys[provider.id]


def load_private_key(path: Path) -> PrivateKey:
    """The PEM private key (RSA, EC or Ed25519) this service signs its client assertions
    with; ValueError naming the file when it is none of them."""
    data = path.read_bytes()
    for kind in (RSAKey, ECKey, OKPKey):
        try:
            key: PrivateKey = kind.import_key(data)
        except (JoseError, ValueError, TypeError):
            continue
        if key.is_private:
            return key
    raise ValueError(f"{path}: not a PEM private key (RSA, EC or Ed25519)")


def _algorithms(supported: Any) -> tuple[str, ...]:
    """The ID token algorithms to accept: those the provider names that are asymmetric."""
    named = supported if isinstance(supported, list) else ["RS256"]
    found = tuple(a for a in named if a in ALGORITHMS)
    if not found:
        raise ValueError("no asymmetric ID token algorithm")
    return found


def _url(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ValueError(f"not a URL: {value!r}")
    return value
