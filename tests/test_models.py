"""The data model: constraints in the database, rules in the model, the public QuerySets."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from statements.models import Position, PublicIdentifier, Release, Topic
from tests.factories import BODY, make_position, make_release, make_source, make_topic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def update_raw(model, pk, **fields):
    """Write straight to the table, past the model's own checks, as a bad script might."""
    with transaction.atomic():
        model.objects.filter(pk=pk).update(**fields)


class TestReleaseConstraints:
    @pytest.mark.parametrize(
        "fields",
        [
            {"status": "bogus"},
            {"issuing_body": "bogus"},
            {"published_precision": "week"},
            {"status": "withdrawn", "withdrawal_reason": ""},
            {"body": ""},
            # A date at an unknown precision, and a precision with no date.
            {"published_on": datetime.date(2020, 1, 1), "published_precision": "unknown"},
            {"published_on": None, "published_precision": "year"},
            {"statement_on": None, "statement_precision": "day"},
            # An inferred date that is not there.
            {"published_on": None, "published_precision": "unknown", "published_inferred": True},
        ],
    )
    def test_database_refuses(self, fields):
        release = make_release()
        with pytest.raises(IntegrityError):
            update_raw(Release, release.pk, **fields)

    def test_withdrawn_with_reason_is_accepted(self):
        release = make_release()
        update_raw(Release, release.pk, status="withdrawn", withdrawal_reason="نُشر خطأً")
        release.refresh_from_db()
        assert release.status == Release.Status.WITHDRAWN

    def test_url_is_unique_but_empty_urls_are_not(self):
        make_release(url="")
        make_release(url="", body=BODY + " نسخة")
        make_release(url="https://example.org/a")
        with pytest.raises(IntegrityError), transaction.atomic():
            make_release(url="https://example.org/a", body="نص آخر")

    def test_clean_refuses_a_day_that_is_not_known(self):
        release = make_release()
        release.published_on = datetime.date(2020, 5, 17)
        release.published_precision = "year"
        with pytest.raises(ValidationError, match="1 January"):
            release.full_clean()
        release.published_precision = "month"
        with pytest.raises(ValidationError, match="1st"):
            release.full_clean()
        release.published_on = datetime.date(2020, 5, 1)
        release.full_clean()

    def test_clean_asks_for_a_withdrawal_reason(self):
        release = make_release(status=Release.Status.PUBLISHED)
        release.status = Release.Status.WITHDRAWN
        with pytest.raises(ValidationError, match="reason"):
            release.full_clean()

    def test_fingerprint_and_first_publication_are_derived(self):
        release = make_release(status=Release.Status.DRAFT)
        assert release.body_sha256 == Release.fingerprint(BODY)
        assert release.first_published_at is None
        release.status = Release.Status.PUBLISHED
        release.save()
        first = release.first_published_at
        assert first is not None
        release.save()
        assert release.first_published_at == first


class TestPublicIdentifier:
    def test_identifiers_are_issued_in_order(self):
        first, second = make_release(), make_release(body="نص ثان")
        assert second.public_id > first.public_id
        assert PublicIdentifier.objects.filter(number=first.public_id).exists()

    def test_identifier_of_a_deleted_release_is_never_reissued(self):
        release = make_release(status=Release.Status.DRAFT)
        number = release.public_id
        release.delete()
        assert make_release().public_id != number
        with pytest.raises(ValidationError, match="cannot be reused"):
            make_release(public_id=number, body="نص جديد")
        assert not Release.objects.filter(public_id=number).exists()

    def test_identifier_of_a_live_release_cannot_be_given_twice(self):
        release = make_release()
        with pytest.raises(ValidationError, match="cannot be reused"):
            make_release(public_id=release.public_id, body="نص جديد")

    def test_explicit_new_identifier_is_registered(self):
        release = make_release(public_id=900001)
        assert release.public_id == 900001
        assert PublicIdentifier.objects.filter(number=900001).exists()

    def test_identifier_does_not_change_on_save(self):
        release = make_release()
        number = release.public_id
        release.title = "عنوان مصحح"
        release.save()
        release.refresh_from_db()
        assert release.public_id == number

    def test_two_live_releases_cannot_share_an_identifier_in_the_table(self):
        first, second = make_release(), make_release(body="نص ثان")
        with pytest.raises(IntegrityError):
            update_raw(Release, second.pk, public_id=first.public_id)


class TestPosition:
    def test_quote_must_be_the_text_at_the_offsets(self):
        release = make_release()
        with pytest.raises(ValidationError, match="not the text"):
            Position(
                release=release, start=0, end=5, quote="تأييد", stance="supports", summary="x"
            ).save()
        assert not Position.objects.exists()

    def test_offsets_inside_a_combining_sequence_are_refused(self):
        release = make_release(body="قال الرَّئِيسُ إن المنظمة")
        start = release.body.index("الرَّ")
        with pytest.raises(ValidationError, match="inside a letter"):
            Position(
                release=release,
                start=start,
                end=start + 3,
                quote=release.body[start : start + 3],
                stance="notes",
                summary="x",
            ).save()

    def test_context_and_number_are_derived(self):
        release = make_release()
        position = make_position(release, quote="منظمة معاهدة الأمن الجماعي")
        assert position.number == 1
        assert position.suffix == release.body[position.end : position.end + 32]
        assert position.prefix == release.body[max(0, position.start - 32) : position.start]
        assert len(position.suffix) == 32
        assert position.get_absolute_url() == f"/r/{release.public_id}/#p1"

    def test_numbers_are_never_recycled(self):
        release = make_release()
        first = make_position(release, quote="منظمة")
        second = make_position(release, quote="سورية")
        assert (first.number, second.number) == (1, 2)
        second.delete()
        third = make_position(release, quote="المنظمة")
        assert third.number == 3

    @pytest.mark.parametrize(
        "fields",
        [
            {"stance": "bogus"},
            {"attribution": "rumour"},
            {"end": 0},
            {"quote": "أطول من المقطع بكثير"},
        ],
    )
    def test_database_refuses(self, fields):
        position = make_position()
        with pytest.raises(IntegrityError):
            update_raw(Position, position.pk, **fields)

    def test_number_is_unique_within_a_release(self):
        release = make_release()
        make_position(release, quote="منظمة")
        second = make_position(release, quote="سورية")
        with pytest.raises(IntegrityError):
            update_raw(Position, second.pk, number=1)

    def test_overlapping_positions_are_allowed(self):
        release = make_release()
        make_position(release, quote="منظمة معاهدة")
        make_position(release, quote="معاهدة الأمن")
        assert release.positions.count() == 2

    def test_astral_characters_count_as_one_code_point(self):
        release = make_release(body="قال 👍 إن «المنظمة» تدعم")
        position = make_position(release, quote="المنظمة")
        assert (position.start, position.end) == (10, 17)


class TestPublic:
    def test_only_published_releases_and_their_positions_are_public(self):
        statuses = [Release.Status.DRAFT, Release.Status.IN_REVIEW, Release.Status.PUBLISHED]
        releases = {s: make_release(status=s, body=f"{BODY} {s}") for s in statuses}
        withdrawn = make_release(
            status=Release.Status.WITHDRAWN, withdrawal_reason="خطأ", body=BODY + " w"
        )
        for release in [*releases.values(), withdrawn]:
            make_position(release, quote="منظمة")
        assert list(Release.objects.published()) == [releases[Release.Status.PUBLISHED]]
        assert {p.release for p in Position.objects.published()} == {
            releases[Release.Status.PUBLISHED]
        }


class TestTopic:
    def test_descendants_include_the_whole_subtree(self):
        root = make_topic()
        child = make_topic(parent=root)
        grandchild = make_topic(parent=child)
        make_topic()
        assert set(root.descendant_ids()) == {root.pk, child.pk, grandchild.pk}

    def test_a_cycle_is_refused(self):
        root = make_topic()
        child = make_topic(parent=root)
        root.parent = child
        with pytest.raises(ValidationError, match="ancestor"):
            root.full_clean()

    def test_database_refuses_a_topic_as_its_own_parent(self):
        topic = make_topic()
        with pytest.raises(IntegrityError):
            update_raw(Topic, topic.pk, parent=topic.pk)

    def test_starter_codebook(self):
        assert Topic.objects.count() >= 30
        syria = Topic.objects.get(slug="syria")
        assert syria.name_ar == "سورية"
        assert {"سوريا", "Syria"} <= set(syria.alias_list) | {syria.name_en}
        assert syria.parent.slug == "middle-east"
        for kind in Topic.Kind.values:
            assert Topic.objects.filter(kind=kind).count() >= 5
        assert "كازخستان" in Topic.objects.get(slug="kazakhstan").alias_list


class TestHistory:
    def test_changes_to_releases_and_positions_are_kept(self):
        release = make_release()
        release.title = "عنوان"
        release.save()
        assert release.history.count() == 2
        assert release.history.first().title == "عنوان"
        position = make_position(release, quote="منظمة")
        position.summary = "ملخص مصحح"
        position.save()
        assert [h.summary for h in position.history.all()] == ["ملخص مصحح", "ملخص الموقف"]

    def test_relays_and_topics_are_versioned(self):
        release = make_release()
        relay = make_source()
        release.relayed_from.add(relay)
        release.save()
        assert list(release.history.first().relayed_from.values_list("source_id", flat=True)) == [
            relay.pk
        ]
        topic = make_topic()
        position = make_position(release, quote="منظمة", topics=[topic])
        position.save()
        assert list(position.history.first().topics.values_list("topic_id", flat=True)) == [
            topic.pk
        ]


def test_display_title_is_bracketed_when_the_original_has_none():
    release = make_release(
        issuing_body=Release.IssuingBody.COLLECTIVE_SECURITY_COUNCIL, dateline="أستانا"
    )
    assert release.display_title.startswith("[")
    assert "أستانا" in release.display_title
    release.title = "عنوان الأصل"
    assert release.display_title == "عنوان الأصل"
