"""Password rules (ASVS V2.1): at least 12 characters and not a common password; no other
composition rules."""

from __future__ import annotations

import functools
import gzip
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 hashes anything, but a megabyte "password" is only a load test


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (see data/README.md), lower-cased."""
    packed = (resources.files(__package__) / "data" / "common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip() for line in gzip.decompress(packed).decode().splitlines())


def password_problem(password: str) -> str | None:
    """Why `password` may not be used, or None if it may."""
    if len(password) < MIN_LENGTH:
        return f"password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"password must be at most {MAX_LENGTH} characters"
    if password.lower() in common_passwords():
        return "password is too common; choose a longer phrase of your own"
    return None
