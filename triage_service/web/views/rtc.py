"""WebRTC support for the pages: ICE servers and the pre-call connection test."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from triage_service.domain.codes import Role
from triage_service.domain.models import ConnectionTestOffer
from triage_service.rtc.echo_errors import EchoPeerError, InvalidOffer, TooManyPeers
from triage_service.rtc.turn import ice_servers_for
from triage_service.service.sessions import SignIn
from triage_service.web.api import ApiRoutes, answer
from triage_service.web.errors import ApiError, invalid
from triage_service.web.state import CLOCK, ECHO_PEERS, SETTINGS

routes = ApiRoutes()
# The roles that are ever in a call: only they get TURN relay credentials.
CALL_ROLES = frozenset({Role.OFFICER, Role.CLINICIAN})


class IceServerOut(BaseModel):
    # As configured: any other RTCIceServer member passes through.
    model_config = ConfigDict(extra="allow")

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class IceServersOut(BaseModel):
    iceServers: list[IceServerOut]


class ConnectionTestAnswer(BaseModel):
    sdp: str
    type: Literal["answer"]


@routes.endpoint(
    "GET", "/api/v1/ice-servers", summary="STUN/TURN servers for WebRTC", answer=IceServersOut
)
async def ice_servers(request: web.Request, sign_in: SignIn) -> web.Response:
    """The configured servers plus, for the roles that take calls, TURN credentials minted
    for this user that last no longer than an idle sign-in session (and ≤ 1 h)."""
    settings = request.app[SETTINGS]
    takes_calls = sign_in.user.role in CALL_ROLES
    servers = ice_servers_for(
        configured=settings.ice_server_list,
        turn_secret=settings.turn_secret if takes_calls else None,
        turn_urls=settings.turn_urls,
        user_id=sign_in.user.id,
        now_s=request.app[CLOCK]() // 1000,
        ttl_s=min(settings.turn_ttl_s, settings.session_idle_s),
    )
    found = IceServersOut.model_validate({"iceServers": servers})
    return answer(found, exclude_unset=True, headers={"Cache-Control": "no-store"})


@routes.endpoint(
    "POST",
    "/api/v1/connection-test",
    summary="Answer an offer with an echo peer",
    body=ConnectionTestOffer,
    answer=ConnectionTestAnswer,
    errors={429: "Too many connection tests are running"},
)
async def connection_test(
    request: web.Request, sign_in: SignIn, offer: ConnectionTestOffer
) -> web.Response:
    """Answer the browser's offer from a server peer that echoes its media and pings."""
    try:
        description = await request.app[ECHO_PEERS].answer(offer.sdp, owner=sign_in.user.id)
    except InvalidOffer as e:
        raise invalid(
            "invalid_sdp", "The offer is not a usable WebRTC description.", {"sdp": str(e)}
        ) from e
    except TooManyPeers as e:
        raise ApiError(
            429,
            "rate_limited",
            "Too many connection tests are running; try again.",
            headers={"Retry-After": str(e.retry_after_s)},
        ) from e
    except EchoPeerError as e:
        raise ApiError(503, "unavailable", "The connection test is unavailable.") from e
    return answer(ConnectionTestAnswer(sdp=description.sdp, type="answer"))
