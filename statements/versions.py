"""Public versions of a release: what a reader saw, kept so a citation can pin it.

Version 1 is the release as first published. Whenever the public content of
a published release changes — its text, its metadata, its positions or their
topics — a new version records the whole of it (a snapshot), with what
changed since the one before ("dateline corrected", "position 3 added").

Edits arrive as several saves (the release, then each position, then their
topics); :func:`note_change` collects the releases an atomic block touched
and records their versions once, when it commits. A snapshot equal to the
latest version records nothing.
"""

import datetime
import hashlib

from django.db import transaction
from django.utils.translation import gettext, gettext_lazy

# Release fields a snapshot keeps, with the words a change log uses for them.
FIELDS = {
    "title": gettext_lazy("title"),
    "dateline": gettext_lazy("dateline"),
    "section_label": gettext_lazy("section label"),
    "url": gettext_lazy("original URL"),
    "archived_url": gettext_lazy("archived copy URL"),
    "issuing_body": gettext_lazy("issuing CSTO body"),
    "published_on": gettext_lazy("publication date"),
    "published_precision": gettext_lazy("publication date"),
    "published_inferred": gettext_lazy("publication date"),
    "statement_on": gettext_lazy("statement date"),
    "statement_precision": gettext_lazy("statement date"),
    "statement_inferred": gettext_lazy("statement date"),
}
# A date, its precision and its "inferred" flag are one thing to a reader.
GROUPED = {
    "published_precision": "published_on",
    "published_inferred": "published_on",
    "statement_precision": "statement_on",
    "statement_inferred": "statement_on",
}
POSITION_FIELDS = ("start", "end", "quote", "stance", "summary", "attribution")


def snapshot(release, position_model=None):
    """The public content of ``release`` as plain JSON data (works with historical models)."""
    from .models import Position

    position_model = position_model or Position
    data = {name: _plain(getattr(release, name)) for name in FIELDS}
    data["body"] = release.body
    source = release.source
    data["source"] = {"slug": source.slug, "name": source.name, "name_en": source.name_en}
    data["relays"] = [
        {"slug": s.slug, "name": s.name, "name_en": s.name_en}
        for s in release.relayed_from.order_by("name")
    ]
    data["positions"] = [
        {
            "number": p.number,
            **{name: getattr(p, name) for name in POSITION_FIELDS},
            "topics": sorted(t.slug for t in p.topics.all()),
        }
        # An orphaned position has no passage in this text: not part of the public version.
        # (Migration 0008's historical model predates orphans.)
        for p in position_model.objects.filter(release_id=release.pk, **_placed(position_model))
        .prefetch_related("topics")
        .order_by("number")
    ]
    return data


def _placed(position_model):
    names = {f.name for f in position_model._meta.get_fields()}
    return {"orphaned": False} if "orphaned" in names else {}


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def fingerprint(body):
    """The short content hash a citation carries: 12 hex digits of SHA-256 of the text."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:12]


def changes(before, after):
    """What changed from snapshot ``before`` to ``after``, as (code, detail) pairs."""
    if before is None:
        return [["published", ""]]
    found = []
    if before["body"] != after["body"]:
        found.append(["text", ""])
    fields = []
    for name in FIELDS:
        shown = GROUPED.get(name, name)
        if before.get(name) != after.get(name) and shown not in fields:
            fields.append(shown)
    found += [["field", name] for name in fields]
    if (before["source"], before["relays"]) != (after["source"], after["relays"]):
        found.append(["source", ""])
    old = {p["number"]: p for p in before["positions"]}
    new = {p["number"]: p for p in after["positions"]}
    for number in sorted(new.keys() - old.keys()):
        found.append(["position_added", number])
    for number in sorted(old.keys() - new.keys()):
        found.append(["position_removed", number])
    for number in sorted(old.keys() & new.keys()):
        if old[number] != new[number]:
            found.append(["position_changed", number])
    return found


def describe(change):
    """A change as the change log says it, in the interface language."""
    code, detail = change
    if code == "published":
        return gettext("First published")
    if code == "text":
        return gettext("Text corrected")
    if code == "field":
        return gettext("Corrected %(field)s") % {"field": FIELDS.get(detail, detail)}
    if code == "source":
        return gettext("Source or relays corrected")
    messages = {
        "position_added": gettext("Position %(n)s added"),
        "position_removed": gettext("Position %(n)s removed"),
        "position_changed": gettext("Position %(n)s changed"),
    }
    return messages[code] % {"n": detail}


def record(release_id):
    """Record a new version of a published release if its public content changed."""
    from .models import Release, ReleaseVersion

    with transaction.atomic():
        release = (
            Release.objects.select_for_update()
            .select_related("source")
            .filter(pk=release_id)
            .first()
        )
        if release is None or release.status != Release.Status.PUBLISHED:
            return None
        data = snapshot(release)
        latest = release.latest_version()
        if latest is not None and latest.snapshot == data:
            return None
        from . import listing

        listing.changed()  # pages show the version number: readers' copies are stale
        return ReleaseVersion.objects.create(
            release=release,
            number=(latest.number if latest else 0) + 1,
            snapshot=data,
            body_sha256=hashlib.sha256(release.body.encode("utf-8")).hexdigest(),
            changes=changes(latest.snapshot if latest else None, data),
        )


class _Pending(list):
    """The releases one transaction changed; recorded when it commits (a commit hook)."""

    done = False

    def __call__(self):
        self.done = True
        for release_id in self:
            record(release_id)


def note_change(release_id):
    """Record ``release_id``'s version when the current atomic block commits (now, outside one).

    One hook per transaction collects every release it touched; a rollback discards the
    hook with its list. (Django keeps the hooks in ``connection.run_on_commit``.)
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        record(release_id)
        return
    pending = next(
        (
            hook
            for _ids, hook, _robust in connection.run_on_commit
            if isinstance(hook, _Pending) and not hook.done
        ),
        None,
    )
    if pending is None:
        pending = _Pending()
        # Robust: the edit has committed; a failure here is logged (Django logs it at ERROR)
        # and the next edit's version includes this change, rather than the editor seeing
        # an error for a save that succeeded.
        transaction.on_commit(pending, robust=True)
    if release_id not in pending:
        pending.append(release_id)


def rebuild(release, data):
    """Unsaved records showing ``data`` (a snapshot of ``release``), for the templates:
    (release, relays, positions with their ``topic_list``)."""
    from .models import Position, Release, Source, Topic

    values = dict(data)
    for name in ("published_on", "statement_on"):
        if values.get(name):
            values[name] = datetime.date.fromisoformat(values[name])
    shown = Release(
        pk=release.pk,
        public_id=release.public_id,
        status=release.status,
        body=data["body"],
        **{name: values[name] for name in FIELDS},
    )
    shown.source = Source(**data["source"])
    relays = [Source(**relay) for relay in data["relays"]]
    shown.relay_list = relays
    slugs = {slug for p in data["positions"] for slug in p["topics"]}
    topics = {t.slug: t for t in Topic.objects.filter(slug__in=slugs)}
    positions = []
    for item in data["positions"]:
        position = Position(
            release=shown,
            number=item["number"],
            **{name: item[name] for name in POSITION_FIELDS},
        )
        position.topic_list = [topics[slug] for slug in item["topics"] if slug in topics]
        positions.append(position)
    return shown, relays, positions
