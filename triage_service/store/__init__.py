"""Redis: the only place that knows key names and Redis commands (Store, Keys, the Lua
scripts, the embedded server).

`Store` holds one part per concern: `store.requests`, `store.accounts`, `store.sessions`,
`store.clinicians`, `store.chat`, `store.referrals`, `store.timers`, `store.retention`,
`store.audit`, `store.stats`, `store.presence`; plus `store.change(call)` for the atomic
lifecycle scripts (each call a typed object of changes.py whose `argv()` maps its fields to
the script's ARGV in one place) and `store.publish(wake)`. Sub-objects rather than one
facade: a call names its concern (`store.requests.load(id)`, `store.sessions.touch(token)`),
each part stays one small module (its own Redis commands and casts), and a facade of some
forty methods would be the one module everyone edits. Every part answers typed values (str,
int, the parsed `Request` of `parse_request`, small frozen dataclasses); nothing outside the
store sees redis-py's `bytes | str` answers. Key names live in `Keys` (keys.py), rendered
into the Lua scripts too; wake-ups are the typed messages of wakes.py.
"""

from triage_service.store.base import Refused
from triage_service.store.embedded import EmbeddedRedis, EmbeddedRedisError, find_redis_server
from triage_service.store.keys import Keys
from triage_service.store.requests import QueueState, Request, parse_request, record_of
from triage_service.store.store import (
    STORE_ERRORS,
    UNREACHABLE_ERRORS,
    Store,
    StoreError,
    connect,
    unavailable_reason,
)

__all__ = [
    "STORE_ERRORS",
    "UNREACHABLE_ERRORS",
    "EmbeddedRedis",
    "EmbeddedRedisError",
    "Keys",
    "QueueState",
    "Refused",
    "Request",
    "Store",
    "StoreError",
    "connect",
    "find_redis_server",
    "parse_request",
    "record_of",
    "unavailable_reason",
]
