"""Who the person is, as far as linking their requests needs: the CHI number's checks, the
normalised name, and the keyed hashes (person keys) that alone link one request to another.

DOMAIN.md "Previous contacts": a CHI match is a match; a match on name and date of birth is
only possible, and the clinician may reject it. Which requests link, and when one repeats
another, is decided where the links are kept (store/lua/create.lua, lua/_common.lua
`person_repeat`). Plain Python, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

CHI_DIGITS = 10
CHI_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
CHI_SEPARATORS = re.compile(r"[\s-]")


class MatchedBy(StrEnum):
    """How a request's earlier contacts were found: its CHI number, or (only a possible
    match) the person's name and date of birth."""

    CHI = "chi"
    NAME_DOB = "name_dob"


def normalise_chi(text: str) -> str:
    """The CHI number as its ten digits (spaces and hyphens between groups dropped); a
    ValueError saying what is wrong unless it is a valid CHI: ten digits, the first six a
    real date DDMMYY, the tenth the modulus-11 check digit of the first nine."""
    digits = CHI_SEPARATORS.sub("", text)
    if len(digits) != CHI_DIGITS or not digits.isascii() or not digits.isdigit():
        raise ValueError("a CHI number is 10 digits")
    if not _is_ddmmyy(digits[:6]):
        raise ValueError("the first six digits of a CHI number are a date of birth, DDMMYY")
    if check_digit(digits[:9]) != int(digits[9]):
        raise ValueError("the check digit (the tenth) does not match: a digit is wrong")
    return digits


def check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit of a CHI number's first nine digits (None: no CHI number
    can start with them)."""
    total = sum(int(d) * w for d, w in zip(first_nine, CHI_WEIGHTS, strict=True))
    digit = 11 - total % 11
    if digit == 11:
        return 0
    return None if digit == 10 else digit


def _is_ddmmyy(text: str) -> bool:
    """Whether DDMMYY is a real date in 19YY or 20YY (29 February of 00 is 2000's)."""
    day, month, year = int(text[:2]), int(text[2:4]), int(text[4:6])
    for century in (1900, 2000):
        try:
            date(century + year, month, day)
        except ValueError:
            continue
        return True
    return False


def normalise_name(name: str) -> str:
    """A name as compared for linking: accents dropped, case folded, and nothing kept but
    letters and digits ("Mary-Jane O'Brien" and "mary jane obrien" are one)."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in plain.casefold() if c.isalnum())


@dataclass(frozen=True, slots=True)
class PersonKeys:
    """A request's person key (HMAC-SHA256 of the CHI number, else of the name and date of
    birth), how it was made, and the keys it is found under: `chi_key` and `name_key` (the
    name and date of birth, also when a CHI was given, so a later request without one may
    still find it as a possible match)."""

    person_key: str
    matched_by: MatchedBy
    chi_key: str
    name_key: str


def person_keys(
    secret: bytes, *, chi: str | None, known_name: str | None, date_of_birth: date | None
) -> PersonKeys | None:
    """The keys of a person given by CHI number (already normalised) and/or name and date of
    birth; None when neither is known (nothing to link by)."""
    name = normalise_name(known_name or "")
    chi_key = _keyed(secret, f"chi:{chi}") if chi else ""
    name_key = _keyed(secret, f"name_dob:{name}|{date_of_birth}") if name and date_of_birth else ""
    if chi_key:
        return PersonKeys(chi_key, MatchedBy.CHI, chi_key, name_key)
    if name_key:
        return PersonKeys(name_key, MatchedBy.NAME_DOB, "", name_key)
    return None


def split_key(secret: bytes, person_key: str, request_id: str) -> str:
    """A person key of this request's own, for when its clinician rejects a possible match
    that shares its key: the exports no longer join the two requests as one person."""
    return _keyed(secret, f"split:{person_key}:{request_id}")


def _keyed(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()
