"""generate_corpus: the synthetic corpus the benchmarks and load tests run on.

It writes in bulk what the editorial paths write one record at a time, so these tests
hold it to the same invariants: quotes at their offsets, listing copies in step,
version 1 equal to what statements.versions would record, searchable text; and the
same seed gives the same corpus.
"""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from statements import listing, search, text, versions
from statements.corpus import PLACES
from statements.models import Position, Release, ReleaseVersion, TopicEntry

pytestmark = pytest.mark.django_db


def generate(releases=12, seed=7, **options):
    err = io.StringIO()
    call_command("generate_corpus", releases=releases, seed=seed, stderr=err, **options)
    return err.getvalue()


def content():
    """Everything about the corpus that does not depend on database keys or clocks."""
    releases = Release.objects.order_by("import_key").select_related("source")
    return [
        (
            r.import_key, r.title, r.body, r.dateline, r.source.slug, r.issuing_body,
            str(r.published_on), r.published_precision, str(r.statement_on), r.status,
            sorted(s.slug for s in r.relayed_from.all()),
            [
                (p.number, p.start, p.end, p.stance, p.summary, p.attribution,
                 sorted(t.slug for t in p.topics.all()))
                for p in r.positions.order_by("number")
            ],
        )
        for r in releases
    ]  # fmt: skip


def wipe():
    TopicEntry.objects.all().delete()
    Position.objects.all().delete()
    ReleaseVersion.objects.all().delete()
    Release.objects.all().delete()


def test_releases_are_complete_and_consistent():
    progress = generate(releases=12, batch=5)
    assert "12/12 releases" in progress
    releases = list(Release.objects.all())
    assert len(releases) == 12
    assert all(r.status == Release.Status.PUBLISHED for r in releases)
    assert all(2000 <= len(r.body) <= 5600 for r in releases)
    positions = list(Position.objects.select_related("release"))
    assert 5 * 12 <= len(positions) <= 11 * 12
    for p in positions:
        assert p.quote == p.release.body[p.start : p.end]
        assert (p.prefix, p.suffix) == text.context(p.release.body, p.start, p.end)
        assert p.topics.exists()
        assert p.is_public and p.release_public_id == p.release.public_id
    for r in releases:
        assert r.last_position_number == r.positions.count()
        assert r.body_sha256 == Release.fingerprint(r.body)
        # Version 1 is exactly what the editorial path would have recorded.
        (version,) = r.versions.all()
        assert version.number == 1
        assert version.snapshot == versions.snapshot(r)
        assert versions.record(r.pk) is None  # nothing new to record
    assert listing.drift() == []


def test_the_corpus_is_searchable_and_served():
    generate(releases=6)
    release = Release.objects.order_by("public_id").first()
    place = next(p for p in PLACES if p in release.body)
    found = search.search(Release.objects.published(), place).queryset
    assert release in found
    position = release.positions.order_by("number").first()
    word = max(re.findall(r"\w+", position.quote), key=len)
    assert position in search.search(Position.objects.filter(is_public=True), word).queryset
    client = Client()
    assert client.get(f"/r/{release.public_id}/").status_code == 200
    assert client.get("/positions/").status_code == 200


def test_the_same_seed_gives_the_same_corpus():
    generate(releases=8, seed=11, batch=3)
    first = content()
    wipe()
    generate(releases=8, seed=11, batch=8)  # batches do not change the content
    assert content() == first
    wipe()
    generate(releases=8, seed=12)
    assert [row[2] for row in content()] != [row[2] for row in first]


def test_a_seed_already_loaded_is_refused():
    generate(releases=3, seed=5)
    with pytest.raises(CommandError, match="seed 5 is already loaded"):
        generate(releases=3, seed=5)
    assert Release.objects.count() == 3
    generate(releases=2, seed=6)  # another seed adds to it
    assert Release.objects.count() == 5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"releases": 0}, "--releases must be at least 1"),
        ({"batch": 0}, "--batch must be at least 1"),
        ({"draft_share": 1.5}, "--draft-share must be between 0 and 1"),
    ],
)
def test_bad_arguments_are_refused(options, message):
    with pytest.raises(CommandError, match=message):
        generate(**options)
    assert not Release.objects.exists()


def test_drafts_on_request():
    generate(releases=40, draft_share=0.5)
    drafts = Release.objects.filter(status=Release.Status.DRAFT)
    assert 5 <= drafts.count() <= 35
    assert not ReleaseVersion.objects.filter(release__in=drafts).exists()
    assert not Position.objects.filter(release__in=drafts, is_public=True).exists()
    assert listing.drift() == []
