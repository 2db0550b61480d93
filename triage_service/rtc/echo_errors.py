"""Why the connection test's echo peer cannot start (the views answer each with its status)."""

from __future__ import annotations


class EchoPeerError(Exception):
    """A connection test the service cannot start."""


class InvalidOffer(EchoPeerError):
    """The browser's offer is not an SDP the echo peer can answer."""


class TooManyPeers(EchoPeerError):
    """Every connection-test slot is taken; one frees within `retry_after_s` seconds."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(
            f"all {limit} connection-test slots are in use; retry in {retry_after_s} s"
        )
        self.retry_after_s = retry_after_s
