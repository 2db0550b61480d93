"""The exceptions aiortc raises for a description it cannot use."""

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
