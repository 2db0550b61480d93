"""Exceptions of the service's aiortc peers, and those aiortc raises for a bad description."""

from __future__ import annotations

from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError

# aiortc reports a description it cannot use with whatever its parser trips over.
SDP_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    AssertionError,
    LookupError,
    TypeError,
    InternalError,
    InvalidAccessError,
    InvalidStateError,
    OperationError,
)


class CallFailed(Exception):
    """A headless call's connection failed or closed before it connected."""
