"""Bodies and answers of the second-factor API (TOTP enrolment, passkeys): they validate
requests and generate the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from triage_service.domain.answers import UserOut
from triage_service.domain.models import Strict

Token = Field(
    default=None,
    min_length=1,
    max_length=128,
    description="the enrolment token of a 401 mfa_enrolment_required (else: signed in)",
)


class EnrolmentIn(Strict):
    enrolment_token: str | None = Token


class TotpConfirmIn(Strict):
    code: str = Field(min_length=1, max_length=16, description="the app's current code")
    enrolment_token: str | None = Token


class PasskeyIn(Strict):
    ceremony_id: str = Field(min_length=1, max_length=64)
    credential: dict[str, Any] = Field(description="PublicKeyCredential.toJSON()")
    enrolment_token: str | None = Token


class PasskeySignInIn(Strict):
    ceremony_id: str = Field(min_length=1, max_length=64)
    credential: dict[str, Any] = Field(description="PublicKeyCredential.toJSON()")


class PasskeyOptionsIn(Strict):
    username: str | None = Field(
        default=None, max_length=64, description="whose passkeys; none: any on the device"
    )


class TotpEnrolmentOut(BaseModel):
    secret: str = Field(description="base-32, for typing into the app by hand")
    otpauth_uri: str
    qr_svg: str = Field(description="the otpauth URI as a QR code, an SVG document")


class SignedIn(BaseModel):
    """Set when finishing an enrolment signed the user in (the session cookie comes too)."""

    user: UserOut | None = None
    csrf_token: str | None = None


class RecoveryCodesOut(SignedIn):
    recovery_codes: list[str] = Field(description="ten single-use codes, shown this once")


class PasskeyRegisteredOut(SignedIn):
    credential_id: str


class CeremonyOut(BaseModel):
    ceremony_id: str = Field(description="send back with the browser's answer")
    publicKey: dict[str, Any] = Field(  # the WebAuthn member name, as browsers use it
        description="options for navigator.credentials.create() or .get(), as JSON"
    )
