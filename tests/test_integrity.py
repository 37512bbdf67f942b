"""Regression tests: ways a record could be silently altered, a permission bypassed or a 500 hit.

Each test here was written from a reproduced bug before its fix.
"""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from statements import importers
from statements.demo import load_demo
from statements.models import Position, Release, Source, Topic
from tests.factories import (
    BODY,
    admin_url,
    make_position,
    make_release,
    make_source,
    make_topic,
    make_user,
    position_form_data,
    release_form_data,
    run_action,
)

pytestmark = pytest.mark.django_db


def login(*groups, **kwargs):
    client = Client()
    client.force_login(make_user(*groups, **kwargs))
    return client


def release_post(release, **changes):
    """A change-form POST that carries no inline forms (as a script or old page might)."""
    return release_form_data(release, with_positions=False, **changes)


def anchored(position):
    position.refresh_from_db()
    position.release.refresh_from_db()
    return position.release.body[position.start : position.end] == position.quote


class TestHistoryCannotBypassTheRules:
    @pytest.mark.parametrize("groups", [("editors",), ("publishers",)])
    def test_history_form_cannot_change_a_release(self, groups):
        release = make_release(status=Release.Status.DRAFT, title="الأصل")
        release.status = Release.Status.PUBLISHED
        release.save()
        version = release.history.earliest().history_id
        client = login(*groups)
        url = admin_url(Release, "simple_history", release.pk, version)
        response = client.post(url, release_post(release, status="draft", title="تغيير"))
        assert response.status_code == 403
        release.refresh_from_db()
        assert (release.status, release.title) == (Release.Status.PUBLISHED, "الأصل")

    def test_history_form_cannot_change_a_position(self):
        position = make_position(make_release(status=Release.Status.DRAFT))
        version = position.history.latest().history_id
        client = login("publishers")
        url = admin_url(Position, "simple_history", position.pk, version)
        response = client.post(url, {"summary": "تغيير"})
        assert response.status_code == 403

    def test_history_form_shows_no_revert_button(self):
        release = make_release(status=Release.Status.DRAFT)
        version = release.history.latest().history_id
        response = login("publishers").get(
            admin_url(Release, "simple_history", release.pk, version)
        )
        assert response.status_code == 200
        assert 'name="_save"' not in response.text


class TestBodyChangesKeepPositionsAnchored:
    def test_change_form_without_inline_forms_still_reanchors_positions(self):
        release = make_release(status=Release.Status.DRAFT)
        position = make_position(release, quote="سورية")
        response = login("editors").post(
            admin_url(Release, "change", release.pk),
            release_post(release, body="مقدمة. " + release.body),
        )
        assert response.status_code == 302
        assert anchored(position)
        assert release.body.index("سورية") + len("مقدمة. ") == position.start

    def test_body_without_the_passage_orphans_the_position_and_keeps_it(self):
        release = make_release()
        position = make_position(release, quote="سورية")
        old = (position.start, position.end, position.quote)
        release.body = "نص آخر تمامًا"
        release.save()
        position.refresh_from_db()
        assert position.orphaned
        assert (position.start, position.end, position.quote) == old
        assert [(o.number, o.how) for o in release.anchoring] == [(position.number, "orphaned")]

    def test_body_change_that_keeps_passages_in_place_is_accepted(self):
        release = make_release()
        position = make_position(release, quote="منظمة")
        release.body = release.body + "\nفقرة مضافة في النهاية."
        release.save()
        assert anchored(position)

    def test_multi_line_quote_survives_a_browser_round_trip(self):
        release = make_release(status=Release.Status.DRAFT)
        quote = release.body[release.body.index("سورية") : release.body.index("المنظمة") + 7]
        assert "\n" in quote
        position = make_position(release, quote=quote, topics=[make_topic()])
        data = release_post(release, title="عنوان جديد")
        data.update(
            {
                "positions-TOTAL_FORMS": 1,
                "positions-INITIAL_FORMS": 1,
                "positions-0-id": position.pk,
                "positions-0-expected_revision": position.revision,
                "positions-0-release": release.pk,
                "positions-0-stance": position.stance,
                "positions-0-attribution": position.attribution,
                "positions-0-start": position.start,
                "positions-0-end": position.end,
                "positions-0-quote": quote.replace("\n", "\r\n"),  # as browsers send it
                "positions-0-topics": [t.pk for t in position.topics.all()],
                "positions-0-summary": position.summary,
                "positions-0-note": "",
            }
        )
        response = login("editors").post(admin_url(Release, "change", release.pk), data)
        assert response.status_code == 302
        release.refresh_from_db()
        assert release.title == "عنوان جديد"
        assert anchored(position)


class TestPositionsStayInTheirRelease:
    def test_release_of_an_existing_position_is_read_only(self):
        a = make_release(status=Release.Status.DRAFT)
        b = make_release(status=Release.Status.DRAFT, body=BODY + " ب")
        position = make_position(a, quote="سورية", topics=[make_topic()])
        client = login("editors")
        response = client.get(admin_url(Position, "change", position.pk))
        assert response.context["adminform"].form.fields.get("release") is None
        client.post(
            admin_url(Position, "change", position.pk),
            {"release": b.pk, "start": position.start, "end": position.end,
             "quote": position.quote, "stance": "notes", "attribution": "direct",
             "summary": "x", "topics": [t.pk for t in position.topics.all()]},
        )  # fmt: skip
        position.refresh_from_db()
        assert position.release == a

    @pytest.mark.parametrize(
        ("status", "answer", "stance"),
        [(Release.Status.PUBLISHED, 403, "supports"), (Release.Status.DRAFT, 302, "rejects")],
        ids=["published: refused", "draft: saved"],
    )
    def test_editor_changes_positions_of_drafts_only(self, status, answer, stance):
        position = make_position(make_release(status=status), quote="سورية", topics=[make_topic()])
        response = login("editors").post(
            admin_url(Position, "change", position.pk),
            position_form_data(position, stance="rejects", summary="تغيير"),
        )
        assert response.status_code == answer
        position.refresh_from_db()
        assert position.stance == stance


class TestWorkflow:
    @pytest.mark.usefixtures("english")
    def test_a_published_release_can_only_be_withdrawn(self):
        release = make_release(status=Release.Status.PUBLISHED)
        for status in (Release.Status.DRAFT, Release.Status.IN_REVIEW):
            release.status = status
            with pytest.raises(ValidationError, match="withdraw"):
                release.full_clean()
        release.status = Release.Status.WITHDRAWN
        release.withdrawal_reason = "سبب"
        release.full_clean()

    def test_publisher_cannot_send_a_published_release_back_to_draft(self):
        release = make_release(status=Release.Status.PUBLISHED)
        response = login("publishers").post(
            admin_url(Release, "change", release.pk), release_post(release, status="draft")
        )
        assert response.status_code == 200
        release.refresh_from_db()
        assert release.status == Release.Status.PUBLISHED

    def test_view_only_staff_cannot_send_for_review(self):
        from django.contrib.auth.models import Permission

        user = make_user()
        user.user_permissions.add(Permission.objects.get(codename="view_release"))
        client = Client()
        client.force_login(user)
        release = make_release(status=Release.Status.DRAFT)
        run_action(client, "submit_for_review", release)
        release.refresh_from_db()
        assert release.status == Release.Status.DRAFT


class TestStableUrls:
    def test_topic_and_source_slugs_cannot_change(self):
        topic = Topic.objects.get(slug="syria")
        source = make_source(slug="sana-x")
        client = login("editors")
        form = client.get(admin_url(Topic, "change", topic.pk)).context["adminform"].form
        assert "slug" not in form.fields
        form = client.get(admin_url(Source, "change", source.pk)).context["adminform"].form
        assert "slug" not in form.fields

    @pytest.mark.parametrize("path", ["/sources/%00/", "/sources/a%00b/", "/topics/%00/"])
    def test_nul_in_a_slug_is_not_found(self, client, path):
        assert client.get(path).status_code == 404

    def test_arabic_source_slug_still_resolves(self, client):
        source = make_source(name="وكالة الأنباء", slug="")
        assert client.get(source.get_absolute_url()).status_code == 200


class TestSanitationEverywhere:
    def test_position_summary_and_note_are_sanitized(self):
        release = make_release(status=Release.Status.DRAFT)
        quote = "سورية"
        start = release.body.index(quote)
        client = login("editors")
        response = client.post(
            admin_url(Position, "add"),
            {"release": release.pk, "start": start, "end": start + len(quote), "quote": quote,
             "stance": "supports", "attribution": "direct", "summary": "ملخص\u202e مقلوب",
             "note": "ملاحظة\u202d", "topics": [make_topic().pk]},
            follow=True,
        )  # fmt: skip
        assert response.status_code == 200
        position = Position.objects.get()
        assert position.summary == "ملخص مقلوب"
        assert position.note == "ملاحظة"
        assert any("U+202E" in str(m) for m in response.context["messages"])

    def test_withdrawal_reason_is_sanitized(self):
        release = make_release(status=Release.Status.PUBLISHED)
        login("publishers").post(
            admin_url(Release, "change", release.pk),
            release_post(release, status="withdrawn", withdrawal_reason="سبب\u202e معلن"),
        )
        release.refresh_from_db()
        assert release.withdrawal_reason == "سبب معلن"

    def test_source_and_topic_names_are_sanitized(self):
        client = login("editors")
        client.post(
            admin_url(Source, "add"),
            {"name": "وكالة\u202e", "name_en": "Agency", "slug": "agency", "kind": "news_agency",
             "aliases": "اسم\u202d آخر"},
        )  # fmt: skip
        source = Source.objects.get(slug="agency")
        assert (source.name, source.aliases) == ("وكالة", "اسم آخر")

    def test_collapsed_whitespace_in_a_title_is_reported(self):
        from statements import text

        clean, report = text.sanitize_line("عنوان\nفي سطرين")
        assert clean == "عنوان في سطرين"
        assert any("line" in m for m in report.messages())


class TestImporterRobustness:
    RECORD = {"body": "نص البيان.", "source": "وكالة", "url": "https://example.org/1"}

    def write(self, tmp_path, lines, name="batch.jsonl", bom=False):
        path = tmp_path / name
        data = "\n".join(lines) + "\n"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
        return path

    def test_an_over_long_source_name_is_one_bad_record(self, tmp_path):
        good = json.dumps(self.RECORD, ensure_ascii=False)
        bad = json.dumps({**self.RECORD, "url": "https://example.org/2", "source": "س" * 250},
                         ensure_ascii=False)  # fmt: skip
        result = importers.import_paths([self.write(tmp_path, [good, bad])])
        assert [o.action for o in result.outcomes] == ["created", "error"]
        assert "source" in result.outcomes[1].message
        assert Release.objects.count() == 1

    def test_line_separator_inside_a_json_string_is_not_a_line_break(self, tmp_path):
        record = json.dumps({**self.RECORD, "body": "سطر\u2028ثان"}, ensure_ascii=False)
        second = json.dumps({**self.RECORD, "url": "https://example.org/2"}, ensure_ascii=False)
        path = self.write(tmp_path, [record, second])
        assert importers.count_records(path) == 2
        result = importers.import_paths([path])
        assert [(o.where, o.action) for o in result.outcomes] == [
            ("batch.jsonl:1", "created"),
            ("batch.jsonl:2", "created"),
        ]

    def test_a_byte_order_mark_is_reported_not_a_lost_record(self, tmp_path):
        path = self.write(tmp_path, [json.dumps(self.RECORD, ensure_ascii=False)], bom=True)
        result = importers.import_paths([path])
        assert [o.action for o in result.outcomes] == ["created"]
        assert any("BOM" in note for note in result.outcomes[0].notes)

    def test_same_url_with_a_different_text_is_reported(self, tmp_path):
        importers.import_paths(
            [self.write(tmp_path, [json.dumps(self.RECORD, ensure_ascii=False)])]
        )
        changed = json.dumps({**self.RECORD, "body": "نص مختلف."}, ensure_ascii=False)
        result = importers.import_paths([self.write(tmp_path, [changed])])
        assert result.outcomes[0].action == "exists"
        assert any("differs" in note for note in result.outcomes[0].notes)
        assert Release.objects.get().body == "نص البيان."

    def test_reimport_after_a_correction_creates_no_duplicate(self, tmp_path):
        path = tmp_path / "a.txt"
        path.write_text("نص البيان الأول.", encoding="utf-8")
        source = make_source(slug="s")
        importers.import_paths([path], source=source)
        release = Release.objects.get()
        release.body = "نص البيان الأول، مصححًا."
        release.save()
        result = importers.import_paths([path], source=source)
        assert result.outcomes[0].action == "exists"
        assert Release.objects.count() == 1

    def test_words_before_a_colon_stay_in_the_body_unless_a_known_label(self, tmp_path):
        make_source(slug="s")
        path = tmp_path / "a.txt"
        path.write_text("وقال البيان: إن المنظمة تدعم الحوار.\nسطر ثان.", encoding="utf-8")
        call_command("import_releases", str(path), "--source", "s", stdout=StringIO())
        release = Release.objects.get()
        assert release.body.startswith("وقال البيان: إن المنظمة")
        assert release.section_label == ""

    def test_one_failing_record_does_not_hold_the_others(self, tmp_path):
        lines = [json.dumps({**self.RECORD, "url": f"https://example.org/{i}"}, ensure_ascii=False)
                 for i in range(3)]  # fmt: skip
        lines.insert(1, "{broken")
        with pytest.raises(CommandError):
            call_command("import_releases", str(self.write(tmp_path, lines)), stdout=StringIO(),
                         stderr=StringIO())  # fmt: skip
        assert Release.objects.count() == 3


class TestDemoReload:
    def test_reloading_after_a_correction_creates_no_duplicate(self, db):
        _, second = load_demo()
        second.body = second.body + " ."
        second.save()
        load_demo()
        assert Release.objects.count() == 2

    def test_reloading_never_republishes(self, db):
        first, _ = load_demo()
        Release.objects.filter(pk=first.pk).update(
            status=Release.Status.WITHDRAWN, withdrawal_reason="سبب"
        )
        load_demo()
        first.refresh_from_db()
        assert first.status == Release.Status.WITHDRAWN

    def test_reloading_never_restores_deleted_positions(self, db):
        first, _ = load_demo()
        first.positions.all().delete()
        load_demo()
        assert not first.positions.exists()


def test_explicit_public_id_does_not_break_later_identifiers(db):
    make_release(public_id=50)
    for i in range(60):
        assert make_release(body=f"نص {i}").public_id != 50


def test_positions_listing_orders_undated_releases_last(client, db):
    dated = make_release(published_on="2020-01-01", published_precision="year")
    undated = make_release(body=BODY + " بلا تاريخ")
    make_position(dated, quote="سورية")
    make_position(undated, quote="سورية")
    response = client.get(reverse("statements:position-list"))
    assert [p.release_id for p in response.context["object_list"]] == [dated.pk, undated.pk]
