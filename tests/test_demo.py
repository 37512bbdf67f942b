"""The demo archive: the two seeds, published, with their hand-annotated positions."""

from io import StringIO

import pytest
from django.core.management import call_command

from statements.demo import DEMO_DIR, DemoDataError, find_offsets, read_spec
from statements.models import Position, Release

pytestmark = pytest.mark.django_db


def test_load_demo_command_is_idempotent():
    out = StringIO()
    call_command("load_demo", stdout=out)
    call_command("load_demo", stdout=out)
    assert Release.objects.count() == 2
    assert "Demo archive ready: 2 releases." in out.getvalue()
    assert Position.objects.count() == sum(len(r["positions"]) for r in read_spec()["releases"])


def test_demo_releases(demo):
    first, second = demo
    assert all(r.status == Release.Status.PUBLISHED for r in demo)
    assert first.positions.count() >= 5
    assert second.positions.count() >= 6
    assert (first.dateline, first.source.slug, first.issuing_body) == ("أستانا", "sana", "csc")
    assert [s.slug for s in first.relayed_from.all()] == ["sputnik"]
    assert (first.published_precision, first.published_inferred) == ("day", True)
    assert (second.section_label, second.published_precision) == ("متابعات", "year")
    assert second.issuing_body == "cfm"


def test_every_position_is_anchored_and_has_topics(demo):
    for position in Position.objects.all():
        assert position.release.body[position.start : position.end] == position.quote
        assert position.topics.exists()
        assert position.summary


def test_background_paragraph_of_004_is_not_a_position(demo):
    background = demo[1].body.rsplit("\n", 1)[1]
    assert background.startswith("ويذكر أن")
    start = demo[1].body.index(background)
    assert not demo[1].positions.filter(end__gt=start).exists()


def test_demo_texts_keep_their_irregular_spellings(demo):
    assert "كازخستان" in demo[1].body
    assert "الشئون" in demo[1].body
    assert "الأخري" in demo[1].body
    assert (
        (DEMO_DIR / "000_559f88af96851eb0.txt").read_text(encoding="utf-8").endswith(demo[0].body)
    )


def test_ambiguous_or_missing_quotes_are_errors():
    with pytest.raises(DemoDataError, match="more than once"):
        find_offsets("منظمة و منظمة", "منظمة")
    with pytest.raises(DemoDataError, match="not found"):
        find_offsets("نص", "منظمة")
