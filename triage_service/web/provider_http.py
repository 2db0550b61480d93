"""The identity providers over HTTP (aiohttp's client), as `OidcClient` reaches them
(`ProviderHttp`): each answer a JSON object, each failure an `OidcError`. The request's
deadline is paused meanwhile: a slow provider is its own 10 s timeout, not the store's."""

from __future__ import annotations

from typing import Any

import aiohttp

from triage_service.cpu import deadline_paused
from triage_service.service.oidc import OidcError

TIMEOUT = aiohttp.ClientTimeout(total=10.0)


class AiohttpProviders:
    """`ProviderHttp` on one aiohttp client session."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def get_json(self, url: str) -> dict[str, Any]:
        """`ProviderHttp.get_json`."""
        try:
            async with deadline_paused(), self.session.get(url, timeout=TIMEOUT) as response:
                if response.status != 200:
                    raise OidcError("provider_unreachable", f"{url} answered {response.status}")
                found = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise OidcError("provider_unreachable", f"cannot read {url}: {e}") from e
        if not isinstance(found, dict):
            raise OidcError("provider_unreachable", f"{url} did not answer a JSON object")
        return found

    async def post_form(
        self, url: str, form: dict[str, str], headers: dict[str, str]
    ) -> dict[str, Any]:
        """`ProviderHttp.post_form`."""
        try:
            async with (
                deadline_paused(),
                self.session.post(url, data=form, headers=headers, timeout=TIMEOUT) as response,
            ):
                found = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise OidcError("provider_unreachable", f"cannot reach {url}: {e}") from e
        if status != 200 or not isinstance(found, dict):
            error = found.get("error") if isinstance(found, dict) else None
            raise OidcError("token_refused", f"the provider refused the code ({error or status})")
        return found
