"""Password rules (ASVS V2.1): 12 to 1024 characters, not a common password, not built from
the username or the service's name, and strong by the zxcvbn estimate; no composition rules.

zxcvbn (Dropbox's estimator, the maintained Python port) scores a password by the guesses an
attacker who knows common passwords, words, names, keyboard patterns, dates, repeats,
sequences and l33t substitutions would need; docs/security.md says why it was chosen.
"""

from __future__ import annotations

import functools
import gzip
import re
import threading
from collections.abc import Iterable
from importlib import resources

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 hashes anything, but a megabyte "password" is only a load test
# zxcvbn's "safely unguessable" (at least 10^8 guesses): beyond an online attack, and slow
# enough offline against argon2id.
MIN_SCORE = 3
# zxcvbn refuses longer input (its work grows fast with length); a longer password is judged
# by its first 72 characters, which must then be strong on their own.
ESTIMATED_CHARS = 72
SERVICE_NAMES = ("triage-service", "triage service", "triageservice", "triage")
# zxcvbn keeps the words given by the caller in a module-level table while it runs.
_ESTIMATOR = threading.Lock()


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (see data/README.md), lower-cased."""
    packed = (resources.files(__package__) / "data" / "common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip() for line in gzip.decompress(packed).decode().splitlines())


def password_problem(
    password: str, *, username: str = "", context: Iterable[str] = ()
) -> str | None:
    """Why `password` may not be used by `username` (with `context`: other words the user is
    known by, e.g. the display name), or None if it may."""
    if len(password) < MIN_LENGTH:
        return f"password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"password must be at most {MAX_LENGTH} characters"
    if password.lower() in common_passwords():
        return "password is too common; choose a longer phrase of your own"
    words = _context_words(username, context)
    if _built_from(password, words):
        return "password is built from the username or the service's name; choose your own"
    if strength(password, words) < MIN_SCORE:
        return "password is too easy to guess; choose a longer phrase of your own"
    return None


def strength(password: str, words: Iterable[str] = ()) -> int:
    """zxcvbn's score, 0 (guessed at once) to 4, knowing `words` are about the user."""
    with _ESTIMATOR:
        return int(zxcvbn(password[:ESTIMATED_CHARS], user_inputs=list(words))["score"])


def _context_words(username: str, context: Iterable[str]) -> list[str]:
    """The service's names, the username and its parts, and the given words (lower-case)."""
    words = {*SERVICE_NAMES, username.lower(), *(c.lower() for c in context)}
    for word in [username, *context]:
        words.update(part.lower() for part in re.split(r"[^\w]+|_", word) if len(part) >= 3)
    return sorted((w for w in words if len(w) >= 3), key=len, reverse=True)


def _built_from(password: str, words: list[str]) -> bool:
    """Whether taking the user's and the service's names out of the password leaves only
    something weak (or nothing): `officer2024!`, `Triage-Triage-Triage`."""
    rest = password.lower()
    for word in words:
        rest = rest.replace(word, "")
    if rest == password.lower():
        return False
    return strength(rest) < MIN_SCORE
