"""Escalation of critical alarms beyond the building: a signed webhook POST and an optional
e-mail, each claimed per attempt in Redis so one instance at a time sends it, retried with
backoff until accepted and repeated while nobody acknowledges it.

Deliveries run concurrently (up to `MAX_IN_FLIGHT` per instance), so a slow receiver delays
no other alarm. Delivery is at least once: a sender that dies after the receiver took the
POST but before recording it leaves the attempt to be made again once its claim lapses
(`store.alarms.DELIVERY_LEASE_MS`). Each POST carries the alarm id (`X-Triage-Alarm-Id`) and
an `Idempotency-Key` that is the same for every attempt of one send and new for each repeat,
so a receiver can drop the duplicates.
"""

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
from triage_service.settings import Settings, Webhook
from triage_service.store import STORE_ERRORS, Store
from triage_service.store.alarms import Claim
from triage_service.tasks import stop_task

log = logging.getLogger(__name__)
SEND_TIMEOUT_S = 5.0
TICK_S = 0.5
MAX_IN_FLIGHT = 64  # concurrent deliveries per instance
SIGNATURE_HEADER = "X-Triage-Signature"
TIMESTAMP_HEADER = "X-Triage-Timestamp"
ALARM_ID_HEADER = "X-Triage-Alarm-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
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
        self.in_flight: set[asyncio.Task[bool]] = set()

    async def start_due(self) -> int:
        """Claim the due deliveries this instance has room for and start each in the
        background (`in_flight`); how many were started."""
        room = MAX_IN_FLIGHT - len(self.in_flight)
        if room <= 0:
            return 0
        started = 0
        for member in await self.alarms.due_deliveries(self.clock(), limit=room):
            claim = await self.alarms.claim_delivery(member, now_ms=self.clock())
            if claim is None:
                continue  # another instance has it, or it was acknowledged
            task = asyncio.create_task(self.deliver(claim), name=f"deliver {member}")
            self.in_flight.add(task)
            task.add_done_callback(self._finished)
            started += 1
        return started

    async def deliver(self, claim: Claim) -> bool:
        """One claimed attempt, then its next one scheduled (a retry with backoff, or the
        repeat while unacknowledged); True once the receiver accepted it."""
        member = claim.member
        try:
            ok = await self.attempt(claim)
            if ok and member.startswith(TEAM_CHANNEL + ":"):
                await self.alarms.finish(member)  # a new referral is announced once
                return True
            delay_s = self.settings.alert_repeat_s if ok else retry_after_s(claim.attempt)
            await self.alarms.reschedule(
                member, at_ms=self.clock() + int(delay_s * 1000), delivered=ok
            )
        except STORE_ERRORS as e:  # the claim lapses and the attempt is made again
            log.warning("alarm delivery %s not recorded, will retry: %s", member, e)
            return False
        return ok

    def _finished(self, task: asyncio.Task[bool]) -> None:
        """Forget a delivery that ended; log one that died (its claim lapses: made again)."""
        self.in_flight.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("%s died; it will be retried", task.get_name(), exc_info=error)

    async def close(self) -> None:
        """Stop the deliveries in flight (their claims lapse and they are made again)."""
        for task in list(self.in_flight):
            await stop_task(task)

    async def attempt(self, claim: Claim) -> bool:
        """One delivery attempt on its channel; True once the receiver accepted it."""
        channel, _, alarm_id = claim.member.partition(":")
        if channel == TEAM_CHANNEL:
            return await self.announce_referral(alarm_id)
        body = await escalation_body(
            self.store, alarm_id, now_ms=self.clock(), areas=self.settings.areas
        )
        if body is None:
            return True  # the alarm is gone: nothing left to send
        try:
            hook = self.settings.alert_webhook
            if channel == "webhook" and hook is not None:
                headers = {
                    ALARM_ID_HEADER: alarm_id,
                    IDEMPOTENCY_HEADER: f"{alarm_id}:{claim.sent + 1}",
                }
                return await self.post(body, hook, headers)
            if channel == "email":
                await self.mail(body)
                return True
        except (aiohttp.ClientError, aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            log.warning("alarm %s via %s failed, will retry: %s", alarm_id, channel, e)
            return False
        log.warning("dropping alarm delivery on unknown channel %r", claim.member)
        return True

    async def announce_referral(self, referral_id: str) -> bool:
        """POST a new referral to its team's webhook; True once accepted (or nowhere to go)."""
        found = await team_notice(self.store, referral_id, now_ms=self.clock())
        hook = self.settings.team_webhooks_by_team.get(found[0]) if found else None
        if found is None or hook is None:
            return True
        try:
            key = f"{TEAM_CHANNEL}:{referral_id}"  # announced once: one key
            return await self.post(found[1], hook, {IDEMPOTENCY_HEADER: key})
        except (aiohttp.ClientError, OSError, TimeoutError) as e:
            log.warning("referral %s to team %s failed, will retry: %s", referral_id, found[0], e)
            return False

    async def post(self, body: bytes, hook: Webhook, extra: dict[str, str] | None = None) -> bool:
        """POST the body to a webhook (with the `extra` headers), signed with its own secret
        over the timestamp and the body; True on a 2xx."""
        timestamp = self.clock() // 1000
        headers = {
            "Content-Type": "application/json",
            **(extra or {}),
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(body, hook.secret, timestamp),
        }
        timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT_S)
        async with self.http.post(hook.url, data=body, headers=headers, timeout=timeout) as r:
            if 200 <= r.status < 300:
                return True
            log.warning("webhook answered %d, will retry", r.status)
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
    """Start the due escalations every tick until cancelled (then stop those in flight); a
    failed tick is logged."""
    tick = min(TICK_S, escalator.settings.sweep_interval_s)
    try:
        while True:
            try:
                await escalator.start_due()
            except STORE_ERRORS as e:
                log.warning("alarm escalation failed, will retry: %s", e)
            await asyncio.sleep(tick)
    finally:
        await escalator.close()
