"""Escalation of critical alarms beyond the building: a signed webhook POST and an optional
e-mail, each claimed per attempt in Redis so every alarm goes out once across instances,
retried with backoff until accepted and repeated while nobody acknowledges it."""

from __future__ import annotations

import asyncio
import json
import logging
from email.message import EmailMessage
from urllib.parse import urlsplit

import aiohttp
import aiosmtplib

from triage_service.domain.safety import retry_after_s, signature
from triage_service.domain.times import Clock
from triage_service.service.alarms import escalation_body
from triage_service.service.referrals import team_notice
from triage_service.settings import Settings
from triage_service.store import STORE_ERRORS, Store

log = logging.getLogger(__name__)
SEND_TIMEOUT_S = 5.0
TICK_S = 1.0
SIGNATURE_HEADER = "X-Triage-Signature"
TEAM_CHANNEL = "team"  # deliveries `team:{referral id}`, queued by lua/outcome.lua


class Escalator:
    """Sends this instance's share of due escalations."""

    def __init__(
        self, store: Store, settings: Settings, clock: Clock, http: aiohttp.ClientSession
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.http = http
        self.alarms = store.alarms

    async def deliver_due(self) -> int:
        """Attempt every due delivery this instance can claim; how many were accepted."""
        accepted = 0
        for member in await self.alarms.due_deliveries(self.clock()):
            attempt = await self.alarms.claim_delivery(member, now_ms=self.clock())
            if attempt is None:
                continue  # another instance has it, or it was acknowledged
            ok = await self.attempt(member)
            accepted += ok
            if ok and member.startswith(TEAM_CHANNEL + ":"):
                await self.alarms.finish(member)  # a new referral is announced once
                continue
            delay_s = self.settings.alert_repeat_s if ok else retry_after_s(attempt)
            await self.alarms.reschedule(
                member, at_ms=self.clock() + int(delay_s * 1000), delivered=ok
            )
        return accepted

    async def attempt(self, member: str) -> bool:
        """One delivery attempt on its channel; True once the receiver accepted it."""
        channel, _, alarm_id = member.partition(":")
        if channel == TEAM_CHANNEL:
            return await self.announce_referral(alarm_id)
        body = await escalation_body(self.store, alarm_id, now_ms=self.clock())
        if body is None:
            return True  # the alarm is gone: nothing left to send
        try:
            if channel == "webhook":
                assert self.settings.alert_webhook_url is not None
                return await self.post(body, self.settings.alert_webhook_url)
            if channel == "email":
                await self.mail(body)
                return True
        except (aiohttp.ClientError, aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            log.warning("alarm %s via %s failed, will retry: %s", alarm_id, channel, e)
            return False
        log.warning("dropping alarm delivery on unknown channel %r", member)
        return True

    async def announce_referral(self, referral_id: str) -> bool:
        """POST a new referral to its team's webhook; True once accepted (or nowhere to go)."""
        found = await team_notice(self.store, referral_id, now_ms=self.clock())
        url = self.settings.team_webhook_urls.get(found[0]) if found else None
        if found is None or url is None:
            return True
        try:
            return await self.post(found[1], url)
        except (aiohttp.ClientError, OSError, TimeoutError) as e:
            log.warning("referral %s to team %s failed, will retry: %s", referral_id, found[0], e)
            return False

    async def post(self, body: bytes, url: str) -> bool:
        """POST the signed body to a webhook; True on a 2xx."""
        headers = {"Content-Type": "application/json"}
        if self.settings.alert_webhook_secret:
            headers[SIGNATURE_HEADER] = signature(body, self.settings.alert_webhook_secret)
        timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT_S)
        async with self.http.post(url, data=body, headers=headers, timeout=timeout) as response:
            if 200 <= response.status < 300:
                return True
            log.warning("webhook answered %d, will retry", response.status)
            return False

    async def mail(self, body: bytes) -> None:
        """E-mail the alarm (the same facts as the webhook, no names or free text)."""
        url = urlsplit(self.settings.smtp_url or "")
        payload = json.loads(body)
        alarm = payload["alarm"]
        message = EmailMessage()
        message["From"] = self.settings.alert_email_from
        message["To"] = self.settings.alert_email_to or ""
        message["Subject"] = f"[triage {alarm['level']}] {alarm['message']}"
        message.set_content(
            f"{alarm['message']}\n\nAlarm {alarm['id']} ({alarm['kind']}), raised "
            f"{alarm['raised_at']}.\nRequest: {json.dumps(payload['request'])}\n\n"
            "Acknowledge it on the supervisor dashboard to stop these messages.\n"
        )
        await aiosmtplib.send(
            message,
            hostname=url.hostname or "localhost",
            port=url.port or 25,
            timeout=SEND_TIMEOUT_S,
        )


async def escalate_forever(escalator: Escalator) -> None:
    """Deliver due escalations every tick until cancelled; a failed tick is logged."""
    tick = min(TICK_S, escalator.settings.sweep_interval_s)
    while True:
        try:
            await escalator.deliver_due()
        except STORE_ERRORS as e:
            log.warning("alarm escalation failed, will retry: %s", e)
        await asyncio.sleep(tick)
