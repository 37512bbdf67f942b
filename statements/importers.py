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
release (or batch of releases, :func:`import_batch`) is written in its own
transaction: a bad record is reported with its file and line and the others
still import; nothing is half-written. Every change sanitation makes is
reported.
"""

from __future__ import annotations

import datetime
import json
import logging
import multiprocessing
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import DatabaseError, DataError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from . import analysis, text
from .dates import PARTIAL_DATE_RE
from .models import DatePrecision, Release, Source, Topic

logger = logging.getLogger(__name__)

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
    """The release this record was imported as before (even if its text was corrected since):
    the oldest with its import key, or its URL (without a URL: the same text and no URL)."""
    return _ArchivedMatches([data]).match(data)


def save_release(data: ReleaseData, *, default_source: Source | None = None, status=None):
    """Create the release described by ``data`` unless it is already in the archive.

    Returns (release, created, notes). Raises RecordError when it cannot.
    """
    found = existing_release(data)
    if found:
        return found, False, _existing_notes(found, data)
    sources = SourceResolver()
    source, notes = sources.for_record(data, default_source)
    release = new_release(data, source, status)
    try:
        release.full_clean(exclude=["public_id"])
    except ValidationError as error:
        raise RecordError(_flatten(error)) from None
    release.save()
    relays, relay_notes = sources.relays(data)
    for relay in relays:
        release.relayed_from.add(relay)
    return release, True, notes + relay_notes


def _record_notes(data, notes):
    """Everything an outcome reports about its record: reading, sanitation, writing."""
    return data.warnings + data.report.messages() + notes


def _existing_notes(found, data):
    if found.body != data.body:
        return [
            "the text in the file differs from the archive's (corrected since, or changed at "
            "the source); the archive's text was kept — compare them in the admin"
        ]
    return []


class SourceResolver:
    """Finds (or creates) the sources records name, remembering what it found."""

    def __init__(self):
        self.known = {}

    def find(self, name):
        if name not in self.known:
            found = find_source(name)
            if found is None:
                return None  # not remembered: a later record may create it
            self.known[name] = found
        return self.known[name]

    def get_or_create(self, name):
        if name in self.known:
            return self.known[name], False
        source, created = get_or_create_source(name)
        self.known[name] = source
        return source, created

    def for_record(self, data, default_source=None):
        """(source, notes) of a record; RecordError if it names no known source."""
        if default_source is not None:
            return default_source, []
        if not (data.source_name or data.agency):
            raise RecordError("no source: give --source (the file's first line names none)")
        name = data.source_name or data.agency
        source, created = self.get_or_create(name) if data.source_name else (self.find(name), False)
        if source is None:
            raise RecordError(
                f"the dateline names the agency {name!r}, which is not a known source: "
                "give --source, or add it as an alias of a source in the admin"
            )
        return source, [f"created source {source.name!r}"] if created else []

    def relays(self, data):
        """(sources, notes) of the record's relays, each once, in the record's order."""
        found, notes = [], []
        for name in data.relayed_from:
            relay, created = self.get_or_create(name)
            if created:
                notes.append(f"created source {relay.name!r}")
            if relay not in found:
                found.append(relay)
        return found, notes


def new_release(data, source, status):
    return Release(
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


# Batches --------------------------------------------------------------------
#
# Record by record, an import costs ~60 queries a release (the model's save: its
# constraint checks, identifier, history, vocabulary, listing copies): 26 releases/s
# on PostgreSQL (bench/RESULTS.md). A batch does the same work for many records
# with a few set-based queries. It leaves what the database checks anyway (the
# model's constraints) to the database: if the batch's INSERT is refused, the
# batch is rolled back and imported again record by record, which names the bad
# record and imports the others, as before.


class _BatchRefused(Exception):
    pass


def searched_texts(records):
    """The texts of each record that search analyzes (the keys of :func:`analyze_records`)."""
    return [tuple(getattr(data, name) for name in Release.SEARCHED_FIELDS) for data in records]


def analyze_records(records, analyzed=None):
    """The search analysis of each record, by its searched texts; ``analyzed``: the
    :func:`statements.analysis.analyze_each` of those texts if made elsewhere already."""
    from . import search as search_index

    searched = searched_texts(records)
    if analyzed is None:
        analyzed = [analysis.analyze(*texts) for texts in searched]
    return dict(zip(searched, map(search_index.fields_of, analyzed), strict=True))


def _analyzer():
    """Where an import analyzes its next batch while it writes one: a process of its own.

    The analysis is pure Python; in a second thread it held the interpreter's lock the
    writing thread needed between its statements (10,000 releases on PostgreSQL, the
    machine busy: 93–98 releases/s with a thread, 116/s with a process). The process is
    forked from a fresh server process (or spawned), so it shares no database
    connection, and it imports statements.analysis alone."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(1, mp_context=context)


def import_batch(items, *, default_source=None, status=None, analyses=None):
    """Import ``items`` ((where, ReleaseData) pairs) in one transaction; their outcomes.

    The same outcomes, notes and stored records as :func:`save_release` record by
    record, but for the history: each new release has one creation record holding its
    relays (record by record, each relay added is a change of its own). ``analyses``
    is :func:`analyze_records` of the items, if the caller has it already.
    """
    try:
        with transaction.atomic():
            return _import_batch(items, default_source, status, analyses or {})
    except _BatchRefused:
        return [_save_one(where, data, default_source, status) for where, data in items]


def _import_batch(items, default_source, status, analyses):
    from . import listing
    from . import search as search_index
    from .models import PublicIdentifier

    outcomes = [None] * len(items)
    archived = _ArchivedMatches(data for _where, data in items)
    sources = SourceResolver()
    planned = []  # (index, release, relays, notes)
    for index, (where, data) in enumerate(items):
        found = archived.match(data)
        if found is not None:
            notes = _record_notes(data, _existing_notes(found, data))
            outcomes[index] = Outcome(where, "exists", release=found, notes=notes)
            continue
        known = dict(sources.known)
        try:
            # A source created for a record that is then refused is not kept.
            creates = not default_source and data.source_name not in sources.known
            with transaction.atomic() if creates else nullcontext():
                source, notes = sources.for_record(data, default_source)
                release = new_release(data, source, status)
                # Fields are checked here; constraints and the source's key (a saved
                # source) by the database (see above).
                release.full_clean(exclude=["public_id", "source"], validate_constraints=False)
        except ValidationError as error:
            sources.known = known
            outcomes[index] = Outcome(where, "error", message=_flatten(error))
            continue
        except (RecordError, text.TextError) as error:
            sources.known = known
            outcomes[index] = Outcome(where, "error", message=str(error))
            continue
        relays, relay_notes = sources.relays(data)
        planned.append((index, release, relays, notes + relay_notes))
        archived.add(data, release)
    if not planned:
        return outcomes

    now = timezone.now()
    surfaces = set()
    issued = PublicIdentifier.objects.bulk_create([PublicIdentifier() for _ in planned])
    releases = []
    for (_index, release, _relays, _notes), identifier in zip(planned, issued, strict=True):
        release.public_id = identifier.number
        release.body_sha256 = Release.fingerprint(release.body)
        if release.status == Release.Status.PUBLISHED:
            release.first_published_at = release.published_at = now
        searched = [getattr(release, name) for name in Release.SEARCHED_FIELDS]
        analyzed = analyses.get(tuple(searched))
        fields, found = analyzed or search_index.search_fields(*searched)
        for name, value in fields.items():
            setattr(release, name, value)
        surfaces |= found
        releases.append(release)
    try:
        with transaction.atomic():
            Release.objects.bulk_create(releases)
    except (IntegrityError, DataError):  # a constraint the fields' checks do not cover
        raise _BatchRefused from None
    links = Release.relayed_from.through
    relay_rows = links.objects.bulk_create(
        [links(release=r, source=s) for _i, r, relays, _n in planned for s in relays]
    )
    search_index.record_terms(sorted(surfaces))
    _record_creations(relay_rows, releases, now)
    # Versions are of published texts only: a batch of drafts has none to record.
    listing.refresh(
        [release.pk for release in releases],
        record_versions=any(r.status == Release.Status.PUBLISHED for r in releases),
    )
    for index, release, _relays, notes in planned:
        where, data = items[index]
        outcomes[index] = Outcome(
            where,
            "created",
            release=release,
            notes=_record_notes(data, notes),
        )
    return outcomes


def _record_creations(relay_rows, releases, when):
    """One history record per new release ("+"), with its relays: two bulk writes."""
    records = Release.history.bulk_history_create(
        releases, default_date=when, default_change_reason=None
    )
    by_release = {record.id: record for record in records}
    (relay_history,) = (
        relation.related_model for relation in Release.history.model._meta.related_objects
    )  # simple_history's copy of the relays (HistoricalRelease_relayed_from)
    relay_history.objects.bulk_create(
        [
            relay_history(
                id=row.pk, history=by_release[row.release_id], release_id=row.release_id,
                source_id=row.source_id,
            )
            for row in relay_rows
        ]
    )  # fmt: skip


class _ArchivedMatches:
    """What :func:`existing_release` finds, for any number of records: read in one query,
    and kept up to date with a batch's own new releases (a file may hold a text twice)."""

    def __init__(self, records):
        records = list(records)
        self.added = 0
        keys = {import_key(r) for r in records}
        urls = {r.url for r in records if r.url}
        prints = {Release.fingerprint(r.body) for r in records if not r.url}
        self.by_key, self.by_url, self.by_print = {}, {}, {}
        found = Release.objects.filter(
            Q(import_key__in=keys) | Q(url__in=urls) | Q(body_sha256__in=prints, url="")
        ).order_by("-pk")  # the oldest is remembered last, so it wins
        for release in found:
            self._remember(release.import_key, release.url, release.body_sha256, release)

    def _remember(self, key, url, fingerprint, release):
        if key:
            self.by_key[key] = release
        if url:
            self.by_url[url] = release
        else:
            self.by_print[fingerprint] = release

    def match(self, data):
        candidates = [self.by_key.get(import_key(data))]
        if data.url:
            candidates.append(self.by_url.get(data.url))
        else:
            candidates.append(self.by_print.get(Release.fingerprint(data.body)))
        candidates = [c for c in candidates if c is not None]
        return min(candidates, key=_creation_order) if candidates else None

    def add(self, data, release):
        release._batch_order = self.added
        self.added += 1
        key, fingerprint = import_key(data), Release.fingerprint(data.body)
        for table, value in ((self.by_key, key), (self.by_url, data.url)):
            if value:
                table.setdefault(value, release)
        if not data.url:
            self.by_print.setdefault(fingerprint, release)


def _creation_order(release):
    # Archived releases come before the batch's own (which have no pk yet), oldest first.
    if release.pk is not None:
        return (0, release.pk)
    return (1, release._batch_order)


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
    batch: int = 1,
) -> ImportResult:
    """Import every record of every file; return what happened to each.

    ``source``, ``published``, ``precision`` and ``inferred`` apply to ``.txt``
    files (``.jsonl`` records carry their own). With ``dry_run`` everything is
    checked and written inside a transaction that is then rolled back. With
    ``batch`` > 1, records are written that many at a time (:func:`import_batch`).
    """
    result = ImportResult(dry_run=dry_run)
    txt_date = parse_partial_date(published, precision) if published or precision else None
    # Each record (or batch) commits on its own; a dry run holds everything in one
    # transaction and rolls it back at the end.
    with transaction.atomic() if dry_run else nullcontext():
        importer = _Importer(result, source, status, max(1, batch), progress)
        try:
            for path in map(Path, paths):
                importer.add_file(path, txt_date, inferred)
            importer.flush()
        finally:
            importer.close()
        if dry_run:
            transaction.set_rollback(True)
    return result


class _Importer:
    """Reads records, keeps each outcome in the files' order, writes in batches.

    Batches are pipelined: while one batch is written (the database working, this
    process waiting), the next one's search analysis runs in a second process
    (:func:`_analyzer`) — the two halves of an import's time, about equal
    (bench/RESULTS.md). Should that process die, the batches are analyzed here."""

    def __init__(self, result, source, status, batch, progress):
        self.result, self.source, self.status = result, source, status
        self.batch, self.progress = batch, progress
        self.pending = []  # (slot in result.outcomes, where, data)
        self.analyzing = None  # (pending, future of its analyses): the batch to write next
        self.pool = _analyzer() if batch > 1 else None
        self.analyzer_lost = False
        self.done = 0

    def add_file(self, path, txt_date, inferred):
        outcomes = self.result.outcomes
        if path.suffix.lower() not in (".txt", ".jsonl"):
            outcomes.append(Outcome(str(path), "error", message="not a .txt or .jsonl file"))
            return
        try:
            found = list(records(path))
        except (OSError, RecordError) as error:
            outcomes.append(Outcome(path.name, "error", message=str(error)))
            return
        for where, parse in found:
            try:
                data = parse()
            except (RecordError, text.TextError) as error:
                outcomes.append(Outcome(where, "error", message=str(error)))
                self._advance(1)
                continue
            if path.suffix.lower() == ".txt" and txt_date:
                data.published_on, data.published_precision = txt_date
                data.published_inferred = inferred
            self.pending.append((len(outcomes), where, data))
            outcomes.append(None)
            if len(self.pending) >= self.batch:
                self._next_batch()

    def _next_batch(self):
        """Start analyzing the pending batch; write the one analyzed before it."""
        if self.pool is None:
            self._write(self.pending, None)
            self.pending = []
            return
        future = None
        if not self.analyzer_lost:
            try:
                texts = searched_texts([data for _, _, data in self.pending])
                future = self.pool.submit(analysis.analyze_each, texts)
            except BrokenProcessPool:
                self._lose_analyzer()
        previous, self.analyzing = self.analyzing, (self.pending, future)
        self.pending = []
        if previous:
            self._write(*previous)

    def flush(self):
        """Write everything still pending (the end of the files)."""
        if self.pending:
            self._next_batch()
        if self.analyzing:
            self._write(*self.analyzing)
            self.analyzing = None

    def close(self):
        if self.pool:
            self.pool.shutdown(cancel_futures=True)

    def _write(self, pending, future):
        if self.batch == 1:
            written = [
                _save_one(where, data, self.source, self.status) for _, where, data in pending
            ]
        else:
            written = import_batch(
                [(where, data) for _, where, data in pending],
                default_source=self.source,
                status=self.status,
                analyses=analyze_records([data for _, _, data in pending], self._analyses(future)),
            )
        for (slot, _where, _data), outcome in zip(pending, written, strict=True):
            self.result.outcomes[slot] = outcome
        self._advance(len(pending))

    def _analyses(self, future):
        """The analyses a batch's future holds, or None if the analyzing process died."""
        if future is None:
            return None
        try:
            return future.result()
        except BrokenProcessPool:
            self._lose_analyzer()
            return None

    def _lose_analyzer(self):
        """The analyzing process died: said once, and the next batches analyzed here."""
        if not self.analyzer_lost:
            logger.warning(
                "The import's analyzing process died (out of memory?): the import goes on, "
                "analyzing its batches in this process, more slowly."
            )
        self.analyzer_lost = True

    def _advance(self, count):
        for _ in range(count):
            self.done += 1
            if self.progress:
                self.progress(self.done)


def _save_one(where, data, source, status):
    try:
        with transaction.atomic():
            release, created, notes = save_release(data, default_source=source, status=status)
    except (RecordError, text.TextError) as error:
        return Outcome(where, "error", message=str(error))
    except DatabaseError as error:
        return Outcome(where, "error", message=f"refused by the database: {error}")
    notes = _record_notes(data, notes)
    return Outcome(where, "created" if created else "exists", release=release, notes=notes)
