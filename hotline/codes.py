"""Request codes: short, numeric (typed on a keypad), ending in a Damm check digit.

The Damm check digit catches every single-digit error and every swap of two
adjacent digits, the two mistakes people make when they read a code aloud or
type it on a keypad.
"""

from __future__ import annotations

import secrets

_DAMM_TABLE = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

#: Digits before the check digit; codes grow only when short ones run out.
MIN_BODY_LENGTH = 5


def damm_digit(digits: str) -> int:
    interim = 0
    for char in digits:
        interim = _DAMM_TABLE[interim][int(char)]
    return interim


def is_valid_code(code: str) -> bool:
    return code.isdigit() and len(code) > MIN_BODY_LENGTH and damm_digit(code) == 0


def random_code(body_length: int = MIN_BODY_LENGTH) -> str:
    """A code whose first digit is never 0, so it reads and types the same everywhere."""
    body = str(secrets.randbelow(9) + 1) + "".join(
        str(secrets.randbelow(10)) for _ in range(body_length - 1)
    )
    return body + str(damm_digit(body))
