"""Pages in a call of three or four: who each page lists in `participants`, whether each
connection is up and its video plays, and the clinician's consult and guest calls."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

# The page's own REST call with its session and CSRF token.
FETCH = """async ([method, path, body]) => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const response = await fetch(path, {
    method, headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token },
    body: body === null ? undefined : JSON.stringify(body) });
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}"""

# Whether the connection to one participant is up with its video advancing (frames and time).
TILE_PLAYING = """(id) => {
  const tile = document.querySelector(
    `[data-testid="participants"] [data-participant-id="${id}"]`);
  const video = tile?.querySelector('video');
  if (!tile || tile.dataset.state !== 'connected' || !video || video.videoWidth === 0) return false;
  const now = [video.currentTime, video.getVideoPlaybackQuality().totalVideoFrames];
  const seen = JSON.parse(video.dataset.seen || '[-1, -1]');
  video.dataset.seen = JSON.stringify(now);
  return seen[0] >= 0 && now[0] > seen[0] && now[1] > seen[1];
}"""

LISTED = """() => [...document.querySelectorAll('[data-testid="participants"] > *')]
  .map((li) => ({ id: li.dataset.participantId, role: li.dataset.role,
                  state: li.dataset.state }))"""


async def call_api(page: Page, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """`{status, body}` of a REST call made by the page itself (its cookie and CSRF token)."""
    found: dict[str, Any] = await page.evaluate(FETCH, [method, path, body])
    return found


async def my_id(page: Page) -> str:
    """The signed-in user's id."""
    me = await call_api(page, "GET", "/api/v1/me")
    return str(me["body"]["user"]["id"])


async def request_id_of(page: Page) -> str:
    """The request of a session page (its URL's last part)."""
    return page.url.rstrip("/").rsplit("/", 1)[-1]


async def listed(page: Page) -> list[dict[str, str]]:
    """The page's `participants`: id, role and connection state of each person."""
    found: list[dict[str, str]] = await page.evaluate(LISTED)
    return found


async def wait_roles(page: Page, roles: list[str], timeout: float = 20000) -> None:
    """Wait until the page lists exactly these roles (any order)."""
    await page.wait_for_function(
        """(roles) => {
          const got = [...document.querySelectorAll('[data-testid="participants"] > *')]
            .map((li) => li.dataset.role).sort();
          return JSON.stringify(got) === JSON.stringify([...roles].sort());
        }""",
        arg=roles,
        timeout=timeout,
    )


async def wait_tile_playing(page: Page, participant_id: str, timeout: float = 30000) -> None:
    """Wait until the page's connection to one participant is up with their video playing."""
    await page.wait_for_function(TILE_PLAYING, arg=participant_id, timeout=timeout, polling=250)


async def make_guest_link(clinician: Page, request_id: str, **changes: Any) -> dict[str, Any]:
    """A guest link made by the session's clinician (an interpreter unless changed)."""
    body = {"display_name": "Ana Interpreter", "role": "interpreter", **changes}
    made = await call_api(clinician, "POST", f"/api/v1/requests/{request_id}/guests", body)
    assert made["status"] == 201, made
    link: dict[str, Any] = made["body"]
    return link


async def ask_to_consult(clinician: Page, request_id: str, colleague: Page) -> str:
    """The session's clinician asks `colleague` (on duty) to consult; the colleague's id."""
    colleague_id = await my_id(colleague)
    asked = await call_api(
        clinician, "POST", f"/api/v1/requests/{request_id}/consult", {"to": colleague_id}
    )
    assert asked["status"] == 201, asked
    return colleague_id


# Media flows on the connection to one participant: connected, and their video advancing
# or, where that connection stepped down to audio (a loaded machine's link watch may judge
# the link too weak for video), their sound arriving.
TILE_MEDIA = """(id) => {
  const tile = document.querySelector(
    `[data-testid="participants"] [data-participant-id="${id}"]`);
  if (!tile || tile.dataset.state !== 'connected') return false;
  const stream = tile.querySelector('video')?.srcObject;
  if (tile.dataset.mode === 'audio') {
    return !!stream && stream.getAudioTracks().some((t) => t.readyState === 'live');
  }
  return (PLAYING)(id);
}""".replace("PLAYING", TILE_PLAYING)


async def wait_tile_media(page: Page, participant_id: str, timeout: float = 45000) -> None:
    """Wait until media flows from one participant (see TILE_MEDIA)."""
    await page.wait_for_function(TILE_MEDIA, arg=participant_id, timeout=timeout, polling=250)
