"""Browser tabs kept open from one test to the next, so a page opened in a test is usually a
tab an earlier test left, signed in again.

Chromium starts a renderer process for the first page of each context: a new context, its page
and the first load cost about 1.2 CPU-seconds here, where signing a kept tab in again and
loading the next page costs about 0.2, and `open_page` opens some 120 pages a run. A tab is kept
only for its origin (the browser tests' servers listen on the same port from test to test) and
only while nothing a test did to it can reach the next test: any Playwright call on the tab or
its context outside `CLEAN_CALLS` (a clock, a route, an init script, going offline, …), a
listener the test left, a second tab or another origin, and the context is closed as before.
Otherwise the tab is wiped (storage, cookies, permissions, geolocation) and left on
`about:blank`.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, BrowserContext, Geolocation, Page, ViewportSize

# Calls after which a tab is as good as new once wiped (method names of Playwright's protocol).
CLEAN_CALLS = {
    "page": {
        "goto", "reload", "goBack", "goForward", "bringToFront", "setViewportSize",
        "screenshot", "expectScreenshot", "pdf", "updateSubscription", "__waitInfo__",
        "keyboardPress", "keyboardType", "keyboardInsertText",
        "mouseMove", "mouseClick", "mouseWheel", "touchscreenTap",
        "consoleMessages", "pageErrors", "requests",
    },
    "context": {
        "newPage", "cookies", "addCookies", "clearCookies", "grantPermissions",
        "clearPermissions", "setGeolocation", "storageState", "updateSubscription",
        "__waitInfo__",
    },
}  # fmt: skip
KEEP_AT_MOST = 8
WIPE_STORAGE = "() => { localStorage.clear(); sessionStorage.clear(); }"


def unused_port() -> int:
    """A port nothing listens on now, below the kernel's range for outgoing connections (so no
    client socket takes it between two tests)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randrange(low // 2, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _impl(owner: Page | BrowserContext) -> Any:
    """Playwright's object behind a public one (its listeners and protocol id)."""
    return owner._impl_obj


def _listeners(owner: Page | BrowserContext) -> dict[str, int]:
    impl = _impl(owner)
    return {name: impl.listener_count(name) for name in impl.event_names()}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Tab:
    """A kept tab and what it looked like when lent (`listeners`)."""

    page: Page
    browser: Browser
    origin: str
    listeners: dict[str, dict[str, int]] = field(default_factory=dict)
    ours: list[tuple[str, Callable[..., Any]]] = field(default_factory=list)


class TabPool:
    """The worker's kept tabs: `lend` one for a test, `take_back` them all after it."""

    def __init__(self) -> None:
        self.idle: list[Tab] = []
        self.lent: list[Tab] = []
        self.calls: dict[str, set[str]] = {}
        self.hooked: set[int] = set()

    def contexts(self) -> set[BrowserContext]:
        """The contexts the pool holds (the test's own others are closed after it)."""
        return {tab.page.context for tab in self.idle + self.lent}

    async def lend(
        self,
        browser: Browser,
        origin: str,
        *,
        viewport: ViewportSize,
        permissions: list[str],
        geolocation: Geolocation | None,
    ) -> Page:
        """A blank tab on `browser` for `origin`: the last kept, or one in a new context."""
        fits = [t for t in self.idle if t.browser is browser and t.origin == origin]
        tab = fits[-1] if fits else None  # the last taken back
        if tab is None:
            context = await browser.new_context(
                base_url=origin, viewport=viewport, geolocation=geolocation
            )
            tab = Tab(await context.new_page(), browser, origin)
            self._record_calls(tab.page)
        else:
            self.idle.remove(tab)
            await tab.page.set_viewport_size(viewport)
            await tab.page.context.set_geolocation(geolocation)
        await tab.page.context.grant_permissions(permissions, origin=origin)
        tab.listeners = {"page": _listeners(tab.page), "context": _listeners(tab.page.context)}
        for owner in (tab.page, tab.page.context):
            self.calls[_impl(owner)._guid] = set()
        self.lent.append(tab)
        return tab.page

    def listen(self, page: Page, event: str, listener: Callable[..., Any]) -> None:
        """Add a listener of the fixtures' own, removed when the tab comes back."""
        page.on(event, listener)  # type: ignore[call-overload]
        next(t for t in self.lent if t.page is page).ours.append((event, listener))

    async def take_back(self) -> None:
        """Wipe and keep each lent tab that nothing can have changed; close the others."""
        lent, self.lent = self.lent, []
        for tab in lent:
            for event, listener in tab.ours:
                tab.page.remove_listener(event, listener)
            tab.ours = []
            if await self._wiped(tab):
                self.idle.append(tab)
            else:
                await self._close(tab)
        while len(self.idle) > KEEP_AT_MOST:
            await self._close(self.idle.pop(0))

    async def close(self) -> None:
        """Close every kept tab's context."""
        for tab in self.idle + self.lent:
            await self._close(tab)
        self.idle, self.lent = [], []

    async def _close(self, tab: Tab) -> None:
        """Close the tab's context and stop noting its calls."""
        for owner in (tab.page, tab.page.context):
            self.calls.pop(_impl(owner)._guid, None)
        await tab.page.context.close()

    async def _wiped(self, tab: Tab) -> bool:
        """Whether the tab is fit for another test; if so it is left blank and signed out."""
        page, context = tab.page, tab.page.context
        if page.is_closed() or context.pages != [page]:
            return False
        for kind, owner in (("page", page), ("context", context)):
            if not self.calls.get(_impl(owner)._guid, set()) <= CLEAN_CALLS[kind]:
                return False
            if _listeners(owner) != tab.listeners[kind]:
                return False
        if page.url != "about:blank" and _origin(page.url) != tab.origin:
            return False
        try:
            if page.url != "about:blank":
                await page.evaluate(WIPE_STORAGE)
            await page.goto("about:blank")
            await context.clear_cookies()
            await context.clear_permissions()
        except Exception:  # a crashed or stuck tab is not kept
            return False
        return True

    def _record_calls(self, page: Page) -> None:
        """Note each protocol call by the object it is made on (once per connection)."""
        connection = _impl(page)._connection
        if id(connection) in self.hooked:
            return
        self.hooked.add(id(connection))
        send = connection.send_message_to_server

        def recorded(owner: Any, method: str, params: Any, options: Any) -> Any:
            calls = self.calls.get(owner._guid)
            if calls is not None:
                calls.add(method)
            return send(owner, method, params, options)

        connection.send_message_to_server = recorded
