"""A second factor for local accounts: the check after the password (`POST /api/v1/login`),
TOTP enrolment, passkey registration and passkey sign-in.

Enrolment works signed in, or with the enrolment token of a 401 `mfa_enrolment_required`
(the password was right; the role needs a second factor the user has not set up): finishing
an enrolment with the token signs the user in, since the password and the new factor are
both proven by then.
"""

from __future__ import annotations

from aiohttp import web

from triage_service.domain.answers import SessionOut, UserOut
from triage_service.domain.factors import (
    CeremonyOut,
    EnrolmentIn,
    PasskeyIn,
    PasskeyOptionsIn,
    PasskeyRegisteredOut,
    PasskeySignInIn,
    RecoveryCodesOut,
    TotpConfirmIn,
    TotpEnrolmentOut,
)
from triage_service.domain.models import Credentials
from triage_service.domain.users import User
from triage_service.service import passkeys
from triage_service.service.accounts import find_user_id, get_user
from triage_service.service.audit import record_sign_in
from triage_service.service.mfa import (
    SecondFactorNeeded,
    WrongCode,
    begin_totp,
    check_second_factor,
    confirm_totp,
)
from triage_service.service.passkeys import PasskeyRefused, RelyingParty
from triage_service.service.throttle import login_ok, start_login
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.auth import (
    USER,
    caller_address,
    check_csrf,
    require,
    set_session_cookie,
)
from triage_service.web.errors import ApiError
from triage_service.web.state import CLOCK, SETTINGS, STORE
from triage_service.web.views.identity import public_origin, start_session

routes = ApiRoutes()
ENROLMENT_ERRORS = {401: "Not signed in, and no valid enrolment token"}


async def check_local_sign_in(
    request: web.Request, user: User, credentials: Credentials
) -> str | None:
    """After the right password: 403 when the user's role may not sign in with a password
    here; 401 while a second factor is needed or the code is wrong (the attempt then stays
    counted by the sign-in throttle). The factor used, if any."""
    store, now_ms = request.app[STORE], request.app[CLOCK]()
    local_sign_in_allowed(request, user)
    try:
        factor = await check_second_factor(
            store,
            request.app[SETTINGS],
            user,
            otp=credentials.otp,
            recovery_code=credentials.recovery_code,
            now_ms=now_ms,
        )
    except SecondFactorNeeded as e:
        extra: dict[str, object] = {"methods": e.methods}
        if e.enrolment_token:
            extra["enrolment_token"] = e.enrolment_token
        raise ApiError(401, e.code, e.message, extra=extra) from e
    except WrongCode as e:
        factor = "recovery_code" if e.code == "invalid_recovery_code" else "totp"
        await record_sign_in(
            store, "login_failed", user_id=user.id, role=None, now_ms=now_ms, factor=factor
        )
        raise ApiError(401, e.code, e.message) from e
    if factor == "recovery_code":
        await record_sign_in(
            store, "recovery_code_used", user_id=user.id, role=user.role.value, now_ms=now_ms
        )
    return factor


def local_sign_in_allowed(request: web.Request, user: User) -> None:
    """403 when the user's role signs in through its organisation only."""
    if user.role not in request.app[SETTINGS].local_roles:
        raise ApiError(
            403,
            "local_sign_in_disabled",
            "Your role signs in through your organisation: use its button on the sign-in page.",
        )


async def enrolling_user(request: web.Request, token: str | None) -> User:
    """The user enrolling a factor: the holder of a live enrolment token, else the signed-in
    user (whose change then needs the CSRF header)."""
    if token is None:
        sign_in = require(request[USER], None)
        check_csrf(request, sign_in)
        return sign_in.user
    store = request.app[STORE]
    user_id = await store.factors.enrolment_user(token)
    user = await get_user(store, user_id) if user_id else None
    if user is None or (await store.accounts.load(user.id)).get("disabled"):
        raise ApiError(
            401, "invalid_enrolment_token", "This set-up has expired: sign in again to start over."
        )
    return user


async def finish_enrolment(
    request: web.Request,
    user: User,
    token: str | None,
    factor: str,
    out: RecoveryCodesOut | PasskeyRegisteredOut,
) -> web.Response:
    """Audit the new factor; with an enrolment token, spend it and sign the user in."""
    store = request.app[STORE]
    await record_sign_in(
        store,
        "mfa_enrolled",
        user_id=user.id,
        role=user.role.value,
        now_ms=request.app[CLOCK](),
        factor=factor,
    )
    if token is None:
        return answer(out)
    await store.factors.end_enrolment(token)
    # The password sign-in that issued the token is complete now: as after any sign-in, its
    # attempt is no failure and this address starts afresh.
    remote = caller_address(request)
    await login_ok(store, request.app[SETTINGS], username=user.username, remote=remote)
    sign_in = await start_session(request, user, factor=factor)
    out.user, out.csrf_token = UserOut(**user.as_dict()), sign_in.csrf_token
    response = answer(out)
    set_session_cookie(response, request.app[SETTINGS], sign_in.token)
    return response


@routes.endpoint(
    "POST",
    "/api/v1/mfa/totp",
    summary="Start TOTP enrolment: a new secret, as text, URI and QR code",
    body=EnrolmentIn,
    answer=TotpEnrolmentOut,
    signed_in=False,
    errors=ENROLMENT_ERRORS,
)
async def start_totp(request: web.Request, body: EnrolmentIn) -> web.Response:
    """A new pending secret for the authenticator app (confirmed by its first code)."""
    user = await enrolling_user(request, body.enrolment_token)
    enrolment = await begin_totp(request.app[STORE], user)
    out = TotpEnrolmentOut(
        secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg
    )
    return answer(out)


@routes.endpoint(
    "POST",
    "/api/v1/mfa/totp/confirm",
    summary="Confirm TOTP enrolment with a code; ten recovery codes",
    body=TotpConfirmIn,
    answer=RecoveryCodesOut,
    signed_in=False,
    errors={**ENROLMENT_ERRORS, 422: "The code does not match the new secret"},
)
async def confirm_totp_code(request: web.Request, body: TotpConfirmIn) -> web.Response:
    """Make the pending secret the user's; answer the recovery codes (shown this once)."""
    user = await enrolling_user(request, body.enrolment_token)
    try:
        codes = await confirm_totp(request.app[STORE], user, body.code, now_ms=request.app[CLOCK]())
    except WrongCode as e:
        raise ApiError(422, e.code, e.message, fields={"code": "does not match"}) from e
    out = RecoveryCodesOut(recovery_codes=codes)
    return await finish_enrolment(request, user, body.enrolment_token, "totp", out)


@routes.endpoint(
    "POST",
    "/api/v1/mfa/webauthn/register/options",
    summary="Start registering a passkey: options for navigator.credentials.create()",
    body=EnrolmentIn,
    answer=CeremonyOut,
    signed_in=False,
    errors=ENROLMENT_ERRORS,
)
async def passkey_register_options(request: web.Request, body: EnrolmentIn) -> web.Response:
    """A registration prompt for the user's device (a discoverable passkey, verified user)."""
    user = await enrolling_user(request, body.enrolment_token)
    ceremony = await passkeys.registration_options(
        request.app[STORE], user, RelyingParty(public_origin(request))
    )
    return answer(CeremonyOut(ceremony_id=ceremony.id, publicKey=ceremony.options))


@routes.endpoint(
    "POST",
    "/api/v1/mfa/webauthn/register/verify",
    summary="Finish registering a passkey",
    body=PasskeyIn,
    answer=PasskeyRegisteredOut,
    signed_in=False,
    errors={**ENROLMENT_ERRORS, 422: "The passkey's answer does not verify"},
)
async def passkey_register_verify(request: web.Request, body: PasskeyIn) -> web.Response:
    """Check the device's answer and keep the passkey."""
    user = await enrolling_user(request, body.enrolment_token)
    try:
        credential_id = await passkeys.register(
            request.app[STORE],
            user,
            RelyingParty(public_origin(request)),
            body.ceremony_id,
            body.credential,
            now_ms=request.app[CLOCK](),
        )
    except PasskeyRefused as e:
        raise ApiError(422, e.code, e.message, fields={"credential": "does not verify"}) from e
    out = PasskeyRegisteredOut(credential_id=credential_id)
    return await finish_enrolment(request, user, body.enrolment_token, "passkey", out)


@routes.endpoint(
    "POST",
    "/api/v1/login/webauthn/options",
    summary="Start signing in with a passkey: options for navigator.credentials.get()",
    body=PasskeyOptionsIn,
    answer=CeremonyOut,
    signed_in=False,
)
async def passkey_sign_in_options(request: web.Request, body: PasskeyOptionsIn) -> web.Response:
    """A sign-in prompt: the named user's passkeys, or any of this service's on the device."""
    store = request.app[STORE]
    user_id = await find_user_id(store, body.username) if body.username else None
    ceremony = await passkeys.sign_in_options(store, RelyingParty(public_origin(request)), user_id)
    return answer(CeremonyOut(ceremony_id=ceremony.id, publicKey=ceremony.options))


@routes.endpoint(
    "POST",
    "/api/v1/login/webauthn/verify",
    summary="Sign in with a passkey",
    body=PasskeySignInIn,
    answer=SessionOut,
    signed_in=False,
    errors={
        401: "The passkey is unknown or does not verify",
        403: "The user's role may not sign in locally (local_sign_in_disabled), or another "
        "site's Origin (bad_origin)",
        429: "Too many failed sign-ins; wait",
    },
)
async def passkey_sign_in(request: web.Request, body: PasskeySignInIn) -> web.Response:
    """Check the device's answer; a new session as for a password sign-in."""
    store, settings, now_ms = request.app[STORE], request.app[SETTINGS], request.app[CLOCK]()
    owner = await passkeys.passkey_user(store, body.credential)
    owner_user = await get_user(store, owner) if owner else None
    name = owner_user.username if owner_user else "passkey"
    remote = caller_address(request)
    await start_login(store, settings, username=name, remote=remote, now_ms=now_ms)
    try:
        user = await passkeys.authenticate(
            store,
            RelyingParty(public_origin(request)),
            body.ceremony_id,
            body.credential,
            now_ms=now_ms,
        )
    except PasskeyRefused as e:
        await record_sign_in(
            store, "login_failed", user_id=owner, role=None, now_ms=now_ms, factor="passkey"
        )
        raise ApiError(401, e.code, e.message) from e
    local_sign_in_allowed(request, user)
    await login_ok(store, settings, username=name, remote=remote)
    sign_in = await start_session(request, user, factor="passkey")
    response = answer(SessionOut(user=UserOut(**user.as_dict()), csrf_token=sign_in.csrf_token))
    set_session_cookie(response, settings, sign_in.token)
    return response
