"""Dates at their precision, as the archive shows and cites them.

A date known to the year is "2020", never "1 January 2020"; an inferred date
is put in brackets; an unknown one is "n.d." / "د.ت.". Digits are Western in
both languages, as in the citation examples.
"""

import re

from django.utils.translation import get_language

from .models import DatePrecision

MONTHS_AR = [
    "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
    "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
]  # fmt: skip
MONTHS_EN = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
NO_DATE = {"ar": "د.ت.", "en": "n.d."}

# A date at its precision as people write it: 2018, 2018-11 or 2018-11-08.
PARTIAL_DATE_RE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def format_partial_date(value, precision, inferred=False, language=None):
    """Format a date at its precision in Arabic or English (the active language by default)."""
    language = "en" if (language or get_language() or "ar").startswith("en") else "ar"
    if value is None or precision == DatePrecision.UNKNOWN:
        return NO_DATE[language]
    months = MONTHS_EN if language == "en" else MONTHS_AR
    if precision == DatePrecision.DAY:
        shown = f"{value.day} {months[value.month - 1]} {value.year}"
    elif precision == DatePrecision.MONTH:
        shown = f"{months[value.month - 1]} {value.year}"
    else:
        shown = str(value.year)
    return f"[{shown}]" if inferred else shown


def iso_partial_date(value, precision):
    """ISO 8601 at the known precision: 2018-11-08, 2018-11, 2018, or '' if unknown."""
    if value is None or precision == DatePrecision.UNKNOWN:
        return ""
    if precision == DatePrecision.DAY:
        return value.isoformat()
    if precision == DatePrecision.MONTH:
        return f"{value.year:04d}-{value.month:02d}"
    return f"{value.year:04d}"
