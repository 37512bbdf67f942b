"""Import releases from files: parse, sanitize, and upsert on a natural key.

Two formats:

* ``.txt`` in the seeds' format: the first line is a dateline (``أستانا-سانا``:
  place, dash, agency) or a section label (``متابعات``, alone or followed by a
  colon and the first sentence), then the body. Source and dates come from the
  caller (the command's options); a dateline's agency names the source when it
  matches a known source's name or alias.
* ``.jsonl``: one release per line, an object with the keys ``body`` and
  ``source`` (a name; unknown sources are created) and optionally ``title``,
  ``url``, ``archived_url``, ``published`` (``2018-11-08``, ``2018-11`` or
  ``2018``), ``published_precision``, ``published_inferred``, ``dateline``,
  ``section_label``, ``issuing_body``, ``relayed_from`` (a list of source
  names).

The natural key is the original URL when there is one, else the SHA-256 of
the canonical body, so importing the same file twice creates nothing. Each
release is written in its own transaction: a bad record is reported with its
file and line and the others still import; nothing is half-written. Every
change sanitation makes is reported.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils.text import slugify

from . import text
from .dates import PARTIAL_DATE_RE
from .models import DatePrecision, Release, Source, Topic

JSONL_KEYS = {
    "title",
    "body",
    "source",
    "url",
    "archived_url",
    "published",
    "published_precision",
    "published_inferred",
    "dateline",
    "section_label",
    "issuing_body",
    "relayed_from",
}
MAX_HEADER_WORDS = 4
# Section labels news sites put before a text ("متابعات: أكد ..."). Words before
# a colon on the first line are taken as a label only if they are one of these
# or a label already in the archive; anything else stays in the body.
SECTION_LABELS = frozenset(
    ["متابعات", "عاجل", "خاص", "تقرير", "أخبار", "محليات", "دوليات", "عربي ودولي", "سياسة",
     "تحديث", "متابعة", "ترجمات", "رصد"]
)  # fmt: skip
_SENTENCE_PUNCTUATION = re.compile(r"[.!?؟،,;؛]")
_DASHES = "-–—"


class RecordError(ValueError):
    """A record that cannot be imported; the message says why, for the editor."""


@dataclass
class ReleaseData:
    """One release as read from a file, before it touches the database."""

    body: str
    source_name: str = ""
    title: str = ""
    url: str = ""
    archived_url: str = ""
    published_on: datetime.date | None = None
    published_precision: str = DatePrecision.UNKNOWN
    published_inferred: bool = False
    dateline: str = ""
    section_label: str = ""
    agency: str = ""
    issuing_body: str = Release.IssuingBody.UNKNOWN
    relayed_from: list[str] = field(default_factory=list)
    report: text.SanitationReport = field(default_factory=text.SanitationReport)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    where: str
    action: str  # "created", "exists", "error"
    release: Release | None = None
    message: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = False

    def _count(self, action):
        return sum(1 for o in self.outcomes if o.action == action)

    @property
    def created(self):
        return self._count("created")

    @property
    def existing(self):
        return self._count("exists")

    @property
    def errors(self):
        return [o for o in self.outcomes if o.action == "error"]


# Dates ---------------------------------------------------------------------


def parse_partial_date(value, precision=None):
    """Parse ``2018-11-08``, ``2018-11`` or ``2018`` into (date, precision).

    A precision given by the caller must agree with the date: a day is never
    invented for a date known only to its month or year, and a date is never
    silently truncated.
    """
    if value in (None, ""):
        if precision not in (None, "", DatePrecision.UNKNOWN):
            raise RecordError(f"published_precision is {precision!r} but no date is given")
        return None, DatePrecision.UNKNOWN
    if not isinstance(value, str):
        raise RecordError(f"published must be a string like 2018-11-08, not {value!r}")
    match = PARTIAL_DATE_RE.fullmatch(value.strip())
    if not match:
        raise RecordError(f"published {value!r} is not a date like 2018-11-08, 2018-11 or 2018")
    year, month, day = match.groups()
    found = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
    try:
        date = datetime.date(int(year), int(month or 1), int(day or 1))
    except ValueError as error:
        raise RecordError(f"published {value!r} is not a real date ({error})") from None
    if precision in (None, ""):
        return date, found
    if precision not in DatePrecision.values:
        raise RecordError(
            f"published_precision {precision!r} is not one of {', '.join(DatePrecision.values)}"
        )
    order = [DatePrecision.YEAR, DatePrecision.MONTH, DatePrecision.DAY]
    if precision == DatePrecision.UNKNOWN or order.index(precision) > order.index(found):
        raise RecordError(f"published {value!r} does not give a date to the {precision}")
    if order.index(precision) < order.index(found):
        raise RecordError(
            f"published {value!r} is more precise than its precision {precision!r}; "
            f"give only the known part (for example {year})"
        )
    return date, found


# Parsing -------------------------------------------------------------------


def _known_place(name):
    name = name.strip()
    return any(
        name == topic.name_ar or name in topic.alias_list
        for topic in Topic.objects.filter(kind=Topic.Kind.PLACE).only("name_ar", "aliases")
    )


def known_section_labels():
    return SECTION_LABELS | set(
        Release.objects.exclude(section_label="").values_list("section_label", flat=True)
    )


def split_header(raw: str, labels=None) -> tuple[dict, str]:
    """Split the first line of a seed-format text into header fields and the body.

    Returns ({"dateline", "agency", "section_label"}, body). The header is
    recognized only when it is short and has no sentence punctuation; anything
    else is left in the body.
    """
    header = {"dateline": "", "agency": "", "section_label": ""}
    first, _, rest = raw.partition("\n")
    line = first.strip()

    # "متابعات: أكد وزراء ..." — a label followed by a colon, on the body's first line.
    label, colon, after = line.partition(":")
    labels = known_section_labels() if labels is None else labels
    if colon and after.strip() and label.strip() in labels:
        header["section_label"] = label.strip()
        return header, (after.strip() + ("\n" + rest if rest else "")).strip()

    if not rest.strip() or not line:
        return header, raw.strip()
    if len(line.split()) > MAX_HEADER_WORDS or _SENTENCE_PUNCTUATION.search(line):
        return header, raw.strip()

    dash = next((d for d in _DASHES if d in line), None)
    if dash:
        place, _, agency = line.partition(dash)
        header["dateline"], header["agency"] = place.strip(), agency.strip()
    elif _known_place(line):
        header["dateline"] = line
    else:
        header["section_label"] = line.rstrip(":").strip()
    return header, rest.strip()


def parse_txt(raw: str) -> ReleaseData:
    clean, report = text.sanitize(raw)
    header, body = split_header(clean)
    if not body:
        raise RecordError("the file holds no text after its first line")
    data = ReleaseData(body=body, report=report, **header)
    if header["dateline"]:
        data.warnings.append(
            f"first line read as a dateline: place {header['dateline']!r}"
            + (f", agency {header['agency']!r}" if header["agency"] else "")
        )
    elif header["section_label"]:
        data.warnings.append(f"first line read as a section label: {header['section_label']!r}")
    else:
        data.warnings.append("no dateline or section label found; the whole text is the body")
    return data


def _string(obj, key, line_required=False):
    value = obj.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RecordError(f"{key} must be a string, not {type(value).__name__}")
    if line_required and not value.strip():
        raise RecordError(f"{key} is missing or empty")
    return value


def parse_jsonl_record(line: str) -> ReleaseData:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as error:
        raise RecordError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(obj, dict):
        raise RecordError("each line must be a JSON object")

    report = text.SanitationReport()

    def clean_line(key):
        value, rep = text.sanitize_line(_string(obj, key))
        report.merge(rep)
        return value

    body, body_report = text.sanitize(_string(obj, "body", line_required=True))
    report.merge(body_report)
    if not body:
        raise RecordError("body is empty after sanitation")
    source_name = clean_line("source")
    if not source_name:
        raise RecordError("source is missing or empty")
    published_on, precision = parse_partial_date(
        obj.get("published"), obj.get("published_precision")
    )
    inferred = obj.get("published_inferred", False)
    if not isinstance(inferred, bool):
        raise RecordError("published_inferred must be true or false")
    issuing_body = obj.get("issuing_body") or Release.IssuingBody.UNKNOWN
    if issuing_body not in Release.IssuingBody.values:
        raise RecordError(
            f"issuing_body {issuing_body!r} is not one of {', '.join(Release.IssuingBody.values)}"
        )
    relayed = obj.get("relayed_from") or []
    if not isinstance(relayed, list) or not all(isinstance(r, str) for r in relayed):
        raise RecordError("relayed_from must be a list of source names")

    data = ReleaseData(
        body=body,
        source_name=source_name,
        title=clean_line("title"),
        url=clean_line("url"),
        archived_url=clean_line("archived_url"),
        published_on=published_on,
        published_precision=precision,
        published_inferred=inferred,
        dateline=clean_line("dateline"),
        section_label=clean_line("section_label"),
        issuing_body=issuing_body,
        relayed_from=[text.sanitize_line(r)[0] for r in relayed if r.strip()],
        report=report,
    )
    unknown = sorted(set(obj) - JSONL_KEYS)
    if unknown:
        data.warnings.append(f"ignored unknown keys: {', '.join(unknown)}")
    return data


# Writing -------------------------------------------------------------------


def find_source(name: str) -> Source | None:
    """A source by its slug, Arabic or English name, or one of its aliases."""
    name = name.strip()
    if not name:
        return None
    exact = Source.objects.filter(Q(slug=name) | Q(name=name) | Q(name_en__iexact=name)).first()
    if exact:
        return exact
    for source in Source.objects.exclude(aliases=""):
        if name in source.alias_list:
            return source
    return None


def get_or_create_source(name: str) -> tuple[Source, bool]:
    source = find_source(name)
    if source:
        return source, False
    slug = slugify(name, allow_unicode=True)[:190] or "source"
    base, n = slug, 2
    while Source.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    source = Source(name=name, slug=slug)
    try:
        source.full_clean()
    except ValidationError as error:
        raise RecordError(f"source {name[:40]!r}…: {_flatten(error)}") from None
    source.save()
    return source, True


def import_key(data: ReleaseData) -> str:
    """The natural key of an imported text: its URL, else the fingerprint of its text."""
    return data.url or f"sha256:{Release.fingerprint(data.body)}"


def existing_release(data: ReleaseData) -> Release | None:
    """The release this record was imported as before (even if its text was corrected since)."""
    key = import_key(data)
    if data.url:
        match = Q(import_key=key) | Q(url=data.url)
    else:
        match = Q(import_key=key) | Q(body_sha256=Release.fingerprint(data.body), url="")
    return Release.objects.filter(match).order_by("pk").first()


def save_release(data: ReleaseData, *, default_source: Source | None = None, status=None):
    """Create the release described by ``data`` unless it is already in the archive.

    Returns (release, created, notes). Raises RecordError when it cannot.
    """
    found = existing_release(data)
    if found:
        notes = []
        if found.body != data.body:
            notes.append(
                "the text in the file differs from the archive's (corrected since, or changed at "
                "the source); the archive's text was kept — compare them in the admin"
            )
        return found, False, notes
    notes = []
    if default_source is not None:
        source = default_source
    elif data.source_name or data.agency:
        name = data.source_name or data.agency
        source, created = (
            get_or_create_source(name) if data.source_name else (find_source(name), False)
        )
        if source is None:
            raise RecordError(
                f"the dateline names the agency {name!r}, which is not a known source: "
                "give --source, or add it as an alias of a source in the admin"
            )
        if created:
            notes.append(f"created source {source.name!r}")
    else:
        raise RecordError("no source: give --source (the file's first line names none)")

    release = Release(
        title=data.title,
        body=data.body,
        dateline=data.dateline,
        section_label=data.section_label,
        source=source,
        url=data.url,
        archived_url=data.archived_url,
        issuing_body=data.issuing_body,
        published_on=data.published_on,
        published_precision=data.published_precision,
        published_inferred=data.published_inferred,
        status=status or Release.Status.DRAFT,
        import_key=import_key(data),
    )
    try:
        release.full_clean(exclude=["public_id"])
    except ValidationError as error:
        raise RecordError(_flatten(error)) from None
    release.save()
    for name in data.relayed_from:
        relay, created = get_or_create_source(name)
        if created:
            notes.append(f"created source {relay.name!r}")
        release.relayed_from.add(relay)
    return release, True, notes


def _flatten(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in error.message_dict.items())
    return " ".join(map(str, error.messages))


def records(path: Path) -> Iterable[tuple[str, Callable[[], ReleaseData]]]:
    """Yield (where, parse) for each record of a file; parse raises RecordError."""
    raw_bytes = path.read_bytes()
    try:
        raw = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecordError(f"not UTF-8 text (bad byte at offset {error.start})") from None
    if path.suffix.lower() == ".jsonl":
        bom = raw.startswith(text.BOM)
        raw = raw.removeprefix(text.BOM)
        # Lines end at LF only: JSON strings may hold U+2028 and other separators.
        for number, line in enumerate(raw.split("\n"), start=1):
            line = line.removesuffix("\r")
            if line.strip():
                yield (
                    f"{path.name}:{number}",
                    (lambda line=line, bom=bom and number == 1: _jsonl(line, bom)),
                )
    else:
        yield path.name, (lambda: parse_txt(raw))


def _jsonl(line, bom):
    data = parse_jsonl_record(line)
    if bom:
        data.warnings.append("removed a byte-order mark (BOM) at the start of the file")
    return data


def count_records(path: Path) -> int:
    if path.suffix.lower() == ".jsonl":
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.strip(b" \t\r\n\xef\xbb\xbf"))
    return 1


def import_paths(
    paths: Iterable[Path | str],
    *,
    source: Source | None = None,
    published: str | None = None,
    precision: str | None = None,
    inferred: bool = False,
    status: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import every record of every file; return what happened to each.

    ``source``, ``published``, ``precision`` and ``inferred`` apply to ``.txt``
    files (``.jsonl`` records carry their own). With ``dry_run`` everything is
    checked and written inside a transaction that is then rolled back.
    """
    result = ImportResult(dry_run=dry_run)
    txt_date = parse_partial_date(published, precision) if published or precision else None
    # Each record commits on its own; a dry run holds everything in one
    # transaction and rolls it back at the end.
    with transaction.atomic() if dry_run else nullcontext():
        _import_all(paths, result, source, txt_date, inferred, status, progress)
        if dry_run:
            transaction.set_rollback(True)
    return result


def _import_all(paths, result, source, txt_date, inferred, status, progress):
    done = 0
    for path in map(Path, paths):
        if path.suffix.lower() not in (".txt", ".jsonl"):
            result.outcomes.append(Outcome(str(path), "error", message="not a .txt or .jsonl file"))
            continue
        try:
            found = list(records(path))
        except (OSError, RecordError) as error:
            result.outcomes.append(Outcome(path.name, "error", message=str(error)))
            continue
        for where, parse in found:
            result.outcomes.append(
                _import_one(where, parse, path, source, txt_date, inferred, status)
            )
            done += 1
            if progress:
                progress(done)


def _import_one(where, parse, path, source, txt_date, inferred, status):
    try:
        data = parse()
        if path.suffix.lower() == ".txt" and txt_date:
            data.published_on, data.published_precision = txt_date
            data.published_inferred = inferred
        with transaction.atomic():
            release, created, notes = save_release(data, default_source=source, status=status)
    except RecordError as error:
        return Outcome(where, "error", message=str(error))
    except text.TextError as error:
        return Outcome(where, "error", message=str(error))
    except DatabaseError as error:
        return Outcome(where, "error", message=f"refused by the database: {error}")
    notes = data.warnings + data.report.messages() + notes
    return Outcome(where, "created" if created else "exists", release=release, notes=notes)
