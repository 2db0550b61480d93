"""Redis: the only place that knows key names and Redis commands (Store, Keys, the Lua
scripts, the embedded server)."""

from triage_service.store.embedded import EmbeddedRedis, EmbeddedRedisError, find_redis_server
from triage_service.store.keys import Keys
from triage_service.store.store import (
    STORE_ERRORS,
    UNREACHABLE_ERRORS,
    Refused,
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
    "Refused",
    "Store",
    "StoreError",
    "connect",
    "find_redis_server",
    "unavailable_reason",
]
