"""Arabic text at ingest: sanitation into the canonical form, and anchoring.

Pure functions, no Django: see docs in the README ("Arabic text").

The canonical form of a text is what annotation offsets point into. It is made
once, at ingest, and never re-normalized after a position exists:

* bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) are
  stripped: they reorder what a reader sees (the "Trojan Source" class);
* a byte-order mark, NUL and other C0/C1 control characters are stripped,
  except newline and tab;
* CRLF and lone CR become LF;
* the result is NFC (never NFKC: that would turn ligatures such as U+FDFA into
  many code points and break the record);
* surrounding whitespace is trimmed.

LRM, RLM, ALM, ZWNJ and ZWJ are kept (they carry meaning), but reported so an
editor can see them. Nothing is removed silently: every removal is counted in
a :class:`SanitationReport`.

Offsets are Unicode code points (W3C Web Annotation), which is what Python
string indices are.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
)
# Kept in the canonical text, but shown to editors.
INVISIBLE_KEPT = {
    "\u200e": "LRM",
    "\u200f": "RLM",
    "\u061c": "ALM",
    "\u200c": "ZWNJ",
    "\u200d": "ZWJ",
    # Pasted from web pages: a zero-width space, a word joiner, a soft hyphen. The search
    # form deletes them (statements.analysis); the text keeps what the source had.
    "\u200b": "ZWSP",
    "\u2060": "WJ",
    "\u00ad": "SHY",
}
BOM = "\ufeff"
CONTEXT_LENGTH = 32

_NAMES = {
    "\u202a": "LRE",
    "\u202b": "RLE",
    "\u202c": "PDF",
    "\u202d": "LRO",
    "\u202e": "RLO",
    "\u2066": "LRI",
    "\u2067": "RLI",
    "\u2068": "FSI",
    "\u2069": "PDI",
    BOM: "BOM",
    "\x00": "NUL",
}


def gettext_noop(message: str) -> str:
    """Mark a message for translation without importing Django (callers translate it)."""
    return message


class TextError(ValueError):
    """The text cannot be made canonical (for instance, it holds lone surrogates)."""


def char_name(ch: str) -> str:
    """A short, readable name for a character, for reports to editors."""
    if ch in _NAMES:
        return f"U+{ord(ch):04X} {_NAMES[ch]}"
    if ch in INVISIBLE_KEPT:
        return f"U+{ord(ch):04X} {INVISIBLE_KEPT[ch]}"
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'CONTROL')}"


_SURROGATE = re.compile("[\ud800-\udfff]")
# Every character the loop in sanitize() removes or reports (tests/test_text.py checks
# this class against _is_stripped_control, BIDI_CONTROLS, BOM and INVISIBLE_KEPT).
_SPECIAL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\u061c\u200b-\u200f\u2060\u00ad]"
)


def _is_stripped_control(ch: str) -> bool:
    if ch in ("\n", "\t"):
        return False
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F


@dataclass
class SanitationReport:
    """What sanitation did to one text; empty when the text was already canonical."""

    removed: Counter = field(default_factory=Counter)
    line_endings_normalized: int = 0
    lines_joined: bool = False
    nfc_changed: bool = False
    trimmed: bool = False
    invisible_kept: Counter = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(
            self.removed
            or self.line_endings_normalized
            or self.lines_joined
            or self.nfc_changed
            or self.trimmed
        )

    def messages(self, translate=lambda message: message) -> list[str]:
        """Plain sentences for an editor or an import report.

        English unless ``translate`` (e.g. Django's gettext) is given.
        """
        out = []
        for ch, n in sorted(self.removed.items()):
            out.append(
                translate(gettext_noop("removed %(count)d × %(char)s"))
                % {"count": n, "char": char_name(ch)}
            )
        if self.line_endings_normalized:
            out.append(
                translate(gettext_noop("normalized %(count)d line ending(s) to LF"))
                % {"count": self.line_endings_normalized}
            )
        if self.lines_joined:
            out.append(translate(gettext_noop("joined the lines of a one-line field with spaces")))
        if self.nfc_changed:
            out.append(translate(gettext_noop("normalized to Unicode NFC")))
        if self.trimmed:
            out.append(translate(gettext_noop("trimmed surrounding whitespace")))
        for ch, n in sorted(self.invisible_kept.items()):
            out.append(
                translate(gettext_noop("kept %(count)d × %(char)s (invisible; check it is meant)"))
                % {"count": n, "char": char_name(ch)}
            )
        return out

    def merge(self, other: SanitationReport) -> None:
        self.removed.update(other.removed)
        self.line_endings_normalized += other.line_endings_normalized
        self.lines_joined = self.lines_joined or other.lines_joined
        self.nfc_changed = self.nfc_changed or other.nfc_changed
        self.trimmed = self.trimmed or other.trimmed
        self.invisible_kept.update(other.invisible_kept)


def sanitize(text: str, *, trim: bool = True) -> tuple[str, SanitationReport]:
    """Return the canonical form of ``text`` and a report of what changed.

    Raises :class:`TextError` for text that is not valid Unicode (lone
    surrogates, as produced by decoding with ``surrogateescape``).
    """
    report = SanitationReport()
    if surrogate := _SURROGATE.search(text):
        raise TextError(f"invalid character (lone surrogate) at position {surrogate.start()}")

    crlf = text.count("\r\n")
    text = text.replace("\r\n", "\n")
    lone_cr = text.count("\r")
    text = text.replace("\r", "\n")
    report.line_endings_normalized = crlf + lone_cr

    if _SPECIAL.search(text):  # most texts have none: no loop over every character
        kept = []
        for ch in text:
            if ch in BIDI_CONTROLS or ch == BOM or _is_stripped_control(ch):
                report.removed[ch] += 1
                continue
            if ch in INVISIBLE_KEPT:
                report.invisible_kept[ch] += 1
            kept.append(ch)
        text = "".join(kept)

    nfc = unicodedata.normalize("NFC", text)
    report.nfc_changed = nfc != text
    text = nfc

    if trim:
        stripped = text.strip()
        report.trimmed = stripped != text
        text = stripped
    return text, report


def sanitize_line(text: str) -> tuple[str, SanitationReport]:
    """Sanitize a one-line field (a title, a dateline): newlines become spaces."""
    text, report = sanitize(text)
    if "\n" in text or "\t" in text:
        text = " ".join(text.split())
        report.lines_joined = True
    return text, report


def is_combining(ch: str) -> bool:
    """True for a mark that attaches to the character before it (harakat, shadda...)."""
    return unicodedata.combining(ch) != 0 or unicodedata.category(ch) in ("Mn", "Me")


def anchor_problem(body: str, start: int, end: int, quote: str) -> str | None:
    """Why a passage ``body[start:end] == quote`` cannot be recorded, or None if it can.

    The messages are English; callers translate them for display.
    """
    if start < 0 or end < 0:
        return gettext_noop("Offsets cannot be negative.")
    if end <= start:
        return gettext_noop("The passage must end after it starts.")
    if end > len(body):
        return gettext_noop("The passage ends after the end of the text.")
    if body[start:end] != quote:
        return gettext_noop("The quote is not the text at these offsets.")
    if quote != quote.strip():
        return gettext_noop("The passage must not start or end with a space.")
    if is_combining(body[start]):
        return gettext_noop("The passage starts inside a letter (on a diacritic mark).")
    if end < len(body) and is_combining(body[end]):
        return gettext_noop("The passage ends inside a letter (before a diacritic mark).")
    return None


def context(body: str, start: int, end: int, size: int = CONTEXT_LENGTH) -> tuple[str, str]:
    """The prefix and suffix around a passage (the W3C TextQuoteSelector context)."""
    return body[max(0, start - size) : start], body[end : end + size]


def utf16_to_codepoints(text: str, offset: int) -> int:
    """Convert a browser (UTF-16 code unit) offset into a code point offset.

    Raises ValueError if the offset falls between the two halves of a
    surrogate pair or outside the text.
    """
    units = 0
    for index, ch in enumerate(text):
        if units == offset:
            return index
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > offset:
            raise ValueError(f"UTF-16 offset {offset} splits a character")
    if units == offset:
        return len(text)
    raise ValueError(f"UTF-16 offset {offset} is past the end of the text")
