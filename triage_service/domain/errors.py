"""Domain errors: what went wrong in the service's own terms. The web layer maps each to a
status code (`web.errors.error_middleware`); nothing here knows about HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the caller may act on, with a stable snake_case `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it does."""

    def __init__(
        self, what: str = "request", *, code: str = "not_found", message: str | None = None
    ) -> None:
        super().__init__(code, message or f"No such {what}.")


class Conflict(DomainError):
    """The object's current state forbids the change (e.g. accepting a request in session)."""


class Forbidden(DomainError):
    """The caller's role may use this, but not on this part of the service (another board)."""


class Invalid(DomainError):
    """Input that breaks a rule; `fields` names each offending field with its problem."""

    def __init__(self, code: str, message: str, fields: dict[str, str]) -> None:
        super().__init__(code, message)
        self.fields = fields


class RateLimited(DomainError):
    """Too many attempts; the caller may try again after `retry_after_s` seconds."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__("rate_limited", message)
        self.retry_after_s = retry_after_s
