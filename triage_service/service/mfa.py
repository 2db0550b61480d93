"""A second factor for local accounts: TOTP (RFC 6238, pyotp) enrolled with a QR code (SVG,
segno) and ten single-use recovery codes; asked after the password from those who have one,
and enrolled right after the password by those whose role requires one."""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass

import pyotp
import segno

from triage_service.domain.errors import DomainError
from triage_service.domain.users import User
from triage_service.service.accounts import find_user
from triage_service.service.audit import record_sign_in
from triage_service.service.sessions import end_user_sessions
from triage_service.settings import Settings
from triage_service.store.store import Store

SERVICE_LABEL = "Mental health triage"  # what the authenticator app shows the code under
RECOVERY_CODES = 10
RECOVERY_GROUPS = 4  # a code is 4 groups of 4 base-32 characters: 80 random bits
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
ENROLMENT_TTL_S = 600  # an enrolment token lasts ten minutes
STEP_S = 30
# A code is accepted for the time step before and after the current one (clock drift).
DRIFT_STEPS = (0, -1, 1)


class SecondFactorNeeded(DomainError):
    """The password was right, but the sign-in needs a second factor first (401)."""

    def __init__(
        self, code: str, message: str, *, methods: list[str], enrolment_token: str | None = None
    ) -> None:
        super().__init__(code, message)
        self.methods = methods
        self.enrolment_token = enrolment_token


class WrongCode(DomainError):
    """A TOTP or recovery code that is not (or no longer) valid (401)."""


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """A new secret to add to an authenticator app: as text, as a URI and as a QR code."""

    secret: str
    otpauth_uri: str
    qr_svg: str


async def check_second_factor(
    store: Store,
    settings: Settings,
    user: User,
    *,
    otp: str | None,
    recovery_code: str | None,
    now_ms: int,
) -> str | None:
    """After the right password: None when no second factor is needed, else the factor
    used (`totp`, `recovery_code`); `SecondFactorNeeded` (enrol first, or give a code) or
    `WrongCode` otherwise."""
    totp = await store.factors.totp(user.id)
    passkeys = await store.factors.passkeys(user.id)
    secret = totp.get("totp_secret")
    if secret is None:
        if user.role not in settings.mfa_roles:
            return None
        if passkeys:
            raise SecondFactorNeeded(
                "mfa_required", "Sign in with your passkey.", methods=["webauthn"]
            )
        token = await issue_enrolment(store, user)
        raise SecondFactorNeeded(
            "mfa_enrolment_required",
            "Your role needs a second factor: set one up to sign in.",
            methods=["totp", "webauthn"],
            enrolment_token=token,
        )
    if otp:
        await use_code(store, user, secret, otp, now_ms=now_ms)
        return "totp"
    if recovery_code:
        await use_recovery_code(store, user, recovery_code)
        return "recovery_code"
    methods = ["totp", "recovery_code"] + (["webauthn"] if passkeys else [])
    raise SecondFactorNeeded(
        "mfa_required", "Enter the code from your authenticator app.", methods=methods
    )


async def issue_enrolment(store: Store, user: User) -> str:
    """A short-lived token letting its holder (who just gave the right password) enrol a
    second factor for this user, and nothing else."""
    token = secrets.token_urlsafe(32)
    await store.factors.issue_enrolment(token, user.id, ttl_s=ENROLMENT_TTL_S)
    return token


async def begin_totp(store: Store, user: User) -> TotpEnrolment:
    """A new pending TOTP secret (replacing any pending one); the confirmed one, if any,
    stays until a code from the new one confirms it."""
    secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    await store.factors.begin_totp(user.id, secret)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=SERVICE_LABEL)
    return TotpEnrolment(secret=secret, otpauth_uri=uri, qr_svg=qr_code_svg(uri))


async def confirm_totp(store: Store, user: User, code: str, *, now_ms: int) -> list[str]:
    """Confirm the pending secret with a code from it; the ten new recovery codes (shown
    once; only their hashes are kept). `WrongCode` when the code does not match."""
    secret = (await store.factors.totp(user.id)).get("totp_pending")
    step = matching_step(secret, code, now_ms=now_ms) if secret else None
    if secret is None or step is None:
        raise WrongCode("invalid_otp", "That code does not match: try the current one.")
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    confirmed = await store.factors.confirm_totp(
        user.id,
        secret,
        step=step,
        now_ms=now_ms,
        recovery_hashes=[recovery_hash(c) for c in codes],
    )
    if not confirmed:
        raise WrongCode("invalid_otp", "Set-up was started again elsewhere: scan the new code.")
    return codes


async def use_code(store: Store, user: User, secret: str, code: str, *, now_ms: int) -> None:
    """Accept a TOTP code once: its time step (or a later one) cannot be used again."""
    step = matching_step(secret, code, now_ms=now_ms)
    if step is None or not await store.factors.use_step(user.id, secret, step):
        raise WrongCode("invalid_otp", "Wrong or already used code.")


async def use_recovery_code(store: Store, user: User, code: str) -> None:
    """Use up one recovery code."""
    if not await store.factors.use_recovery_code(user.id, recovery_hash(code)):
        raise WrongCode("invalid_recovery_code", "Wrong or already used recovery code.")


def matching_step(secret: str, code: str, *, now_ms: int) -> int | None:
    """The time step (now, or one either side) whose code `code` is, if any."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    for drift in DRIFT_STEPS:
        at = now_ms // 1000 + drift * STEP_S
        if totp.verify(code, for_time=at):
            return totp.timecode(at)
    return None


def qr_code_svg(text: str) -> str:
    """`text` as a QR code: a standalone SVG document, drawn here (nothing is fetched)."""
    out = io.BytesIO()
    segno.make(text, error="m").save(
        out,
        kind="svg",
        scale=4,
        light="#fff",
        xmldecl=False,
        title="QR code for your authenticator app",
    )
    return out.getvalue().decode("utf-8")


def new_recovery_code() -> str:
    """A recovery code: `abcd-efgh-ijkl-mnop`, 80 random bits."""
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUPS * 4))
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def recovery_hash(code: str) -> str:
    """What is kept of a recovery code: SHA-256 of it without case, spaces or dashes (80
    random bits need no slow hash)."""
    normalised = "".join(c for c in code.lower() if c.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


async def reset_second_factors(store: Store, username: str, *, now_ms: int) -> int:
    """Remove every second factor of an account (a lost phone; `user reset-mfa`): its
    sessions end, and its next password sign-in enrols afresh where its role needs one.
    Audited. How many passkeys went; ValueError if there is no such account."""
    user = await find_user(store, username)
    removed = await store.factors.reset(user.id)
    await end_user_sessions(store, user.id)
    await record_sign_in(store, "mfa_reset", user_id=user.id, role=user.role.value, now_ms=now_ms)
    return removed
