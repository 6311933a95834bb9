"""Text as residents type it and as one SMS segment can carry it.

Two jobs: fold what residents type (accents or not, `đ`, full-width digits,
stray punctuation, emoji) into plain lowercase words for keyword matching, and
fold what we send into the GSM-7 basic alphabet so a reply costs one segment.

The one fold rule (`fold`) lives here for every caller: residents' keywords
(`hotline.sms.keywords`), volunteers' SMS commands (`hotline.staff.sms_commands`)
and the staff rules' checks. Only `fold` and `strip_accents` are needed to compare
words; this module imports nothing from the app, so anything may import it.
"""

from __future__ import annotations

import re
import unicodedata

#: The GSM 03.38 basic character set (no escape/extension characters: those cost two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: One GSM-7 segment; one UCS-2 segment.
GSM7_SEGMENT = 160
UCS2_SEGMENT = 70

# Letters NFKD does not decompose into a base letter plus a mark.
_FOLD = str.maketrans({"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss"})
# Typographic characters residents' phones insert, mapped to what GSM-7 has.
_PUNCT = str.maketrans({
    "‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " ",
    "[": "(", "]": ")", "{": "(", "}": ")", "~": "-", "\\": "/", "|": "/", "^": "", "`": "'",
    "€": "EUR",
})
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def strip_accents(text: str) -> str:
    """`Tra cứu đơn` → `Tra cuu don`: NFKD, drop combining marks, fold đ."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """`Nhận ĐƠN` → `nhan don`: accents removed (`đ` → `d`, see `strip_accents`), case folded.

    Two words are the same keyword when their folds are equal. Callers that show a
    keyword in capitals (`NHAN`) use `fold(text).upper()`.
    """
    return strip_accents(text).casefold()


def clean_inbound(text: str | None) -> str:
    """The text as stored: NUL and other C0/C1 controls (except newline, tab) removed.

    PostgreSQL refuses NUL in text columns; the rest only confuses staff screens.
    """
    if not text:
        return ""
    return "".join(
        ch for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co")
    )


def words(text: str) -> list[str]:
    """Lowercase ASCII words and digit runs, accents and punctuation gone.

    Letters and digits glued together (`tracuu123456`) stay one word here; the
    matcher splits them.
    """
    return [w for w in _NOT_WORD.split(fold(text)) if w]


def to_gsm7(text: str) -> str:
    """Fold text into the GSM-7 basic set: accents removed, anything else dropped."""
    text = strip_accents(text.translate(_PUNCT))
    return "".join(ch for ch in text if ch in GSM7_BASIC)


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC for ch in text)


def segment_limit(text: str) -> int:
    """Characters one segment holds for this text (160 in GSM-7, else 70)."""
    return GSM7_SEGMENT if is_gsm7(text) else UCS2_SEGMENT


def cut_to(text: str, limit: int) -> str:
    """At most `limit` characters: cut at a word in the second half, marked with "..."."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 3]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + "..."
