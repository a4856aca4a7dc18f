"""Persian-aware text normalisation for search and dedup keys.

The original text is always kept for display; these keys are only compared. They fold the variants that
Persian keyboards and Arabic-script sources mix freely: Arabic yeh/kaf, heh with yeh/teh marbuta, alef
variants, Persian and Arabic-Indic digits, ZWNJ and other invisible joiners, tatweel, diacritics, and case.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from ..errors import ValidationError

_DIGITS = {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
_DIGITS.update({ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")})

_LETTERS = {
    "ي": "ی",
    "ى": "ی",
    "ئ": "ی",
    "ك": "ک",
    "ۀ": "ه",
    "ة": "ه",
    "ہ": "ه",
    "ە": "ه",
    "أ": "ا",
    "إ": "ا",
    "ٱ": "ا",
    "آ": "ا",
    "ؤ": "و",
    "ـ": "",  # tatweel
}
_TABLE = dict(_DIGITS)
_TABLE.update({ord(k): v for k, v in _LETTERS.items()})
# invisible joiners become word separators: "علی‌رضا" and "علی رضا" give the same tokens
for _cp in (0x200C, 0x200D, 0x200E, 0x200F, 0x00AD, 0xFEFF, 0x2066, 0x2067, 0x2068, 0x2069):
    _TABLE[_cp] = " "

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_PUNCT = re.compile(r"[^\w\s@.+-]", re.UNICODE)


#: characters refused in stored text: the C0 controls but tab, line feed and carriage return, DEL,
#: the C1 controls, and lone surrogates (they have no UTF-8 form). PostgreSQL cannot store NUL, and
#: a terminal obeys the rest when the text is shown. Format characters (ZWNJ, ZWJ, LRM, RLM, ALM,
#: the bidi embeddings and isolates, the soft hyphen) are part of Persian text and stay.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: what :func:`printable` escapes: every control character (line breaks and tabs too), lone
#: surrogates
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


#: the first character of a text that :func:`check_text` refuses (a match), or ``None``: for hot
#: paths that test several values at once and call :func:`check_text` only to word the refusal
find_control = _CONTROL.search


def check_text(value: str, field: str) -> str:
    """``value``, unless it holds a control character (see ``_CONTROL``): then
    :class:`ValidationError` naming the field, the character and its position. Every text field a
    person or a file gives goes through this."""
    found = _CONTROL.search(value)
    if found is None:
        return value
    raise ValidationError(
        f"the control character U+{ord(found.group()):04X} (at character "
        f"{found.start() + 1}) is not allowed in text",
        field=field,
    )


def _escaped(found: re.Match) -> str:
    return repr(found.group())[1:-1]  # "\x1b", "\n", "\ud800"


def escape_controls(text: str) -> str:
    """``text`` with the characters :func:`check_text` refuses written as escapes (``\\x1b``): for
    text that is kept but must not carry them, such as a file's column names."""
    return _CONTROL.sub(_escaped, text) if _CONTROL.search(text) else text


def printable(text: str) -> str:
    """``text`` safe to show on one terminal line: control characters (escape sequences, line
    breaks, tabs) and lone surrogates written as escapes (``\\x1b``, ``\\n``); Persian format
    characters are kept."""
    return _UNPRINTABLE.sub(_escaped, text) if _UNPRINTABLE.search(text) else text


def to_ascii_digits(text: str) -> str:
    """Replace Persian (۰-۹) and Arabic-Indic (٠-٩) digits with ASCII digits; nothing else changes."""
    return text.translate(_DIGITS)


def to_persian_digits(text: str) -> str:
    """Show ASCII digits as Persian digits (for Persian output)."""
    return text.translate({ord(str(i)): c for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")})


def normalize(text: str | None) -> str:
    """Return the comparison form of ``text``: folded letters and digits, no diacritics, single spaces, lower case.

    >>> normalize("علي‌رضا  كريمي") == normalize("علی رضا کریمی")
    True
    """
    if not text:
        return ""
    return _normalized(text)


@lru_cache(
    maxsize=65_536
)  # names, cities and tags repeat: an import normalises the same text many times
def _normalized(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_TABLE)
    # drop combining marks (Arabic harakat, Latin accents)
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFC", text)
    text = text.casefold()
    text = _PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def tokens(text: str | None) -> list[str]:
    """Words of the normalised text, in order."""
    n = normalize(text)
    return n.split(" ") if n else []


def search_tokens(text: str | None) -> frozenset[str]:
    """Index tokens for a name: each word, each pair of adjacent words joined, and the whole name joined.

    Joining lets "علیرضا" find "علی رضا" and the reverse. Tokens are cut to 300 characters (the index
    column's width).
    """
    return _search_tokens(normalize(text))


@lru_cache(
    maxsize=65_536
)  # names repeat across a customer list: an import indexes the same names many times
def _search_tokens(normalized: str) -> frozenset[str]:
    words = normalized.split(" ") if normalized else []
    out = set(words)
    for a, b in zip(words, words[1:]):
        out.add(a + b)
    if len(words) > 2:
        out.add("".join(words))
    return frozenset(t[:300] for t in out if t)


def compact(text: str | None) -> str:
    """The normalised text without any spaces: the dedup key of a name."""
    return normalize(text).replace(" ", "")
