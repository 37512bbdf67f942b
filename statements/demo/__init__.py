"""The demo archive: the two seed texts, their metadata and hand-annotated positions.

The texts go through the same importer as any other file; positions are given
by their exact quote, and their offsets are found in the canonical text (a
quote that is missing or occurs twice is an error, never a guess). Loading is
idempotent and only ever creates: a demo release already in the archive (found
by its import key, even after its text was corrected) is left exactly as the
editors left it — status, text and positions.
"""

import json
from pathlib import Path

from django.db import transaction

from ..importers import parse_partial_date, parse_txt, save_release
from ..models import Position, Release, Source, Topic

DEMO_DIR = Path(__file__).resolve().parent


class DemoDataError(Exception):
    pass


def read_spec():
    return json.loads((DEMO_DIR / "demo.json").read_text(encoding="utf-8"))


def _complete(release, item, sources, topics):
    """Metadata, positions and publication of a demo release just created."""
    release.statement_on, release.statement_precision = parse_partial_date(item["statement"])
    release.statement_inferred = item["statement_inferred"]
    release.relayed_from.set(sources[slug] for slug in item["relayed_from"])
    for entry in item["positions"]:
        missing = [slug for slug in entry["topics"] if slug not in topics]
        if missing:
            raise DemoDataError(f"unknown topics in the codebook: {missing}")
        start, end = find_offsets(release.body, entry["quote"])
        position = Position(
            release=release,
            start=start,
            end=end,
            quote=entry["quote"],
            stance=entry["stance"],
            attribution=entry["attribution"],
            summary=entry["summary"],
            note=entry.get("note", ""),
        )
        position.full_clean(exclude=["number", "topics"])
        position.save()
        position.topics.set(topics[slug] for slug in entry["topics"])
    release.status = Release.Status.PUBLISHED
    release.save()


def find_offsets(body, quote):
    start = body.find(quote)
    if start < 0:
        raise DemoDataError(f"quote not found in the text: {quote[:40]}…")
    if body.find(quote, start + 1) >= 0:
        raise DemoDataError(f"quote occurs more than once: {quote[:40]}…")
    return start, start + len(quote)


@transaction.atomic
def load_demo():
    """Load (or confirm) the demo archive; return the list of its releases."""
    spec = read_spec()
    sources = {}
    for item in spec["sources"]:
        source, _ = Source.objects.get_or_create(
            slug=item["slug"],
            defaults={
                "name": item["name"],
                "name_en": item["name_en"],
                "kind": item["kind"],
                "country": item["country"],
                "homepage": item["homepage"],
                "aliases": "\n".join(item["aliases"]),
            },
        )
        sources[item["slug"]] = source
    topics = {t.slug: t for t in Topic.objects.all()}

    releases = []
    for item in spec["releases"]:
        raw = (DEMO_DIR / item["file"]).read_text(encoding="utf-8")
        data = parse_txt(raw)
        data.published_on, data.published_precision = parse_partial_date(item["published"])
        data.published_inferred = item["published_inferred"]
        data.issuing_body = item["issuing_body"]
        release, created, _ = save_release(data, default_source=sources[item["source"]])
        if created:
            _complete(release, item, sources, topics)
        releases.append(release)
    return releases
