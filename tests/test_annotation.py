"""The editorial desk: annotation by selection, re-anchoring, locking and the workflow.

Through the public surface: the admin's annotation endpoints (as the page's
script calls them, and as a plain form without JavaScript), the change form,
and the models' own rules. Runs on SQLite and PostgreSQL.
"""

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from statements import anchoring, listing
from statements.models import EditConflict, Position, Release
from tests.factories import (
    BODY,
    admin_url,
    make_position,
    make_release,
    make_topic,
    make_user,
    release_form_data,
)

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def english(client):
    """The desk in English (its language switch), to match on message text."""
    client.cookies["django_language"] = "en"
    return client


def annotate_url(release):
    return admin_url(Release, "annotate", release.pk)


def selection(release, passage, occurrence=0, **extra):
    """The POST the page's script sends for a selection of ``passage`` (code point offsets)."""
    start = -1
    for _ in range(occurrence + 1):
        start = release.body.index(passage, start + 1)
    return {
        "start": start,
        "end": start + len(passage),
        "quote": passage,
        "stance": "supports",
        "attribution": "direct",
        "summary": "موقف داعم",
        "note": "",
        "topics": [make_topic().pk, make_topic().pk],
        "text_sha256": release.body_sha256,
        **extra,
    }


class TestRecordingByServer:
    def test_a_selection_becomes_a_position_with_two_topics(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        data = selection(release, "سورية")
        response = editor_client.post(annotate_url(release), data, **JSON)
        assert response.status_code == 200, response.json()
        payload = response.json()
        assert payload["ok"] and "#p1" in payload["message"]
        position = Position.objects.get(release=release)
        assert release.body[position.start : position.end] == "سورية"
        assert sorted(t.pk for t in position.topics.all()) == sorted(data["topics"])
        # The fragments the page swaps in: the passage highlighted, the list updated.
        assert 'data-p="1"' in payload["text_html"]
        assert ">سورية</span>" in payload["text_html"]
        assert "#p1" in payload["list_html"]
        assert listing.drift() == []

    def test_mismatched_quote_is_refused_with_the_reason(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        data = selection(release, "سورية", quote="سوريا")
        response = editor_client.post(annotate_url(release), data, **JSON)
        assert response.status_code == 400
        payload = response.json()
        # "The quote is not the text at these offsets." (the desk speaks Arabic)
        refusal = "المقطع المقتبس لا يطابق النص الواقع بين هذين الموضعين."
        assert payload["errors"]["quote"] == [refusal]
        assert not Position.objects.exists()

    @pytest.mark.parametrize("where", ["end", "start"])
    def test_offsets_inside_a_combining_sequence_are_refused(self, editor_client, where):
        body = "قالت المنظمة إنّ الحلَّ سياسي."
        release = make_release(status=Release.Status.DRAFT, body=body)
        letter = body.index("الحلَّ") + 3  # the lam that carries fatha and shadda
        start, end = (letter - 3, letter + 2) if where == "end" else (letter + 1, letter + 5)
        data = selection(release, "الحلَّ", start=start, end=end, quote=body[start:end])
        response = editor_client.post(annotate_url(release), data, **JSON)
        assert response.status_code == 400
        message = {
            "end": "ينتهي المقطع داخل حرف",
            "start": "يبدأ المقطع داخل حرف",
        }[where]
        assert message in response.json()["message"]
        assert not Position.objects.exists()

    def test_an_emoji_before_the_passage_counts_as_one_code_point(self, editor_client):
        body = "🇷🇺 تمهيد.\n" + BODY
        release = make_release(status=Release.Status.DRAFT, body=body)
        data = selection(release, "سورية")
        # The browser counted UTF-16 units (each flag letter is two); the page converts.
        assert body.encode("utf-16-le").find("سورية".encode("utf-16-le")) // 2 == data["start"] + 2
        response = editor_client.post(annotate_url(release), data, **JSON)
        assert response.status_code == 200
        position = Position.objects.get()
        assert body[position.start : position.end] == "سورية"
        # And UTF-16 offsets sent by mistake are refused, not stored off by two.
        wrong = selection(release, "أراضيها")
        wrong["start"] += 2
        wrong["end"] += 2
        response = editor_client.post(annotate_url(release), wrong, **JSON)
        assert response.status_code == 400
        assert Position.objects.count() == 1

    def test_a_text_changed_since_the_page_was_opened_is_refused(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        data = selection(release, "سورية")
        release.body = "مقدمة. " + release.body
        release.save()
        response = english(editor_client).post(annotate_url(release), data, **JSON)
        assert response.status_code == 400
        assert "The text was changed since you opened this page" in response.json()["message"]
        assert not Position.objects.exists()

    def test_editing_a_position_from_a_stale_page_is_refused(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        position = make_position(release, quote="سورية", topics=[make_topic()])
        data = selection(
            release, "سورية", position=position.pk, expected_revision=position.revision
        )
        other = Position.objects.get(pk=position.pk)
        other.summary = "تعديل محرر آخر"
        other.save()
        data["summary"] = "تعديلي"
        response = english(editor_client).post(annotate_url(release), data, **JSON)
        assert response.status_code == 400
        assert "Someone else changed this position" in response.json()["message"]
        position.refresh_from_db()
        assert position.summary == "تعديل محرر آخر"

    def test_editing_and_deleting_a_position(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        position = make_position(release, quote="سورية", topics=[make_topic()])
        data = selection(
            release,
            "التسوية السياسية",
            position=position.pk,
            expected_revision=position.revision,
            stance="rejects",
        )
        response = editor_client.post(annotate_url(release), data, **JSON)
        assert response.status_code == 200, response.json()
        position.refresh_from_db()
        assert (position.quote, position.stance, position.number) == (
            "التسوية السياسية",
            "rejects",
            1,
        )
        delete = admin_url(Release, "annotate_delete", release.pk)
        response = editor_client.post(
            delete, {"position": position.pk, "expected_revision": position.revision - 1}, **JSON
        )
        assert response.status_code == 409
        response = editor_client.post(
            delete, {"position": position.pk, "expected_revision": position.revision}, **JSON
        )
        assert response.status_code == 200
        assert not Position.objects.exists()

    def test_without_javascript_the_form_posts_and_redirects_with_a_message(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        response = editor_client.post(annotate_url(release), selection(release, "سورية"))
        assert response.status_code == 302
        page = editor_client.get(response.url)
        assert "#p1" in page.text
        refused = editor_client.post(
            annotate_url(release), selection(release, "سورية", quote="خطأ")
        )
        assert refused.status_code == 400  # the page again, with the form's errors
        assert 'class="errorlist' in refused.text
        assert Position.objects.count() == 1

    def test_permissions(self, editor_client, publisher_client):
        published = make_release(status=Release.Status.PUBLISHED)
        response = editor_client.post(annotate_url(published), selection(published, "سورية"))
        assert response.status_code == 403
        response = publisher_client.post(
            annotate_url(published), selection(published, "سورية"), **JSON
        )
        assert response.status_code == 200
        viewer = make_user()
        viewer.user_permissions.add(Permission.objects.get(codename="view_release"))
        client = Client()
        client.force_login(viewer)
        draft = make_release(status=Release.Status.DRAFT)
        assert client.get(annotate_url(draft)).status_code == 200
        assert client.post(annotate_url(draft), selection(draft, "سورية")).status_code == 403
        assert Client().get(annotate_url(draft)).status_code == 302  # to the login page
        assert editor_client.get(admin_url(Release, "annotate", 999999)).status_code == 404
        assert editor_client.get(admin_url(Release, "annotate", "abc")).status_code == 404

    def test_the_page_shows_overlaps_and_invisible_marks(self, editor_client):
        body = "قال\u200f الأمين العام إن المنظمة تدعم الحوار في سورية."
        release = make_release(status=Release.Status.DRAFT, body=body)
        make_position(release, quote="المنظمة تدعم الحوار", topics=[make_topic()])
        make_position(release, quote="تدعم الحوار في سورية", topics=[make_topic()])
        response = editor_client.get(annotate_url(release))
        assert response.status_code == 200
        assert 'data-mark="RLM"' in response.text
        assert 'data-p="1 2"' in response.text and "depth-2" in response.text
        # The rendered text is the body, character for character (offsets depend on it).
        seg = r'<span class="seg[^"]*" data-start="(\d+)"[^>]*>([^<]*)</span>'
        spans = re.findall(seg, response.text)
        assert "".join(t for _, t in spans) == body
        assert all(body[int(s) :].startswith(t) for s, t in spans)

    def test_topics_autocomplete_by_any_spelling_or_english(self, editor_client):
        from statements.models import Topic

        syria = Topic.objects.get(name_en="Syria")  # from the starter codebook
        afghanistan = Topic.objects.get(name_en="Afghanistan")
        url = admin_url(Release, "annotate_topics")
        for query in ("سوريه", "سوريا", "سُورِيَة", "syr", "SYRIA"):
            ids = [r["id"] for r in editor_client.get(url, {"q": query}).json()["results"]]
            assert syria.pk in ids and afghanistan.pk not in ids, query
        assert editor_client.get(url, {"q": ""}).json()["results"] == []


class TestReanchoring:
    def place(self, old_body, quote, new_body, occurrence=0):
        start = -1
        for _ in range(occurrence + 1):
            start = old_body.index(quote, start + 1)
        release = make_release(status=Release.Status.DRAFT, body=old_body)
        position = make_position(release, quote=quote, start=start, end=start + len(quote))
        release.body = new_body
        release.save()
        position.refresh_from_db()
        return release, position

    def test_text_inserted_before_moves_the_passage(self):
        release, position = self.place(BODY, "سورية", "تمهيد جديد.\n" + BODY)
        assert release.body[position.start : position.end] == "سورية"
        assert [o.how for o in release.anchoring] == [anchoring.MOVED]

    def test_text_changed_after_keeps_the_offsets(self):
        release, position = self.place(BODY, "سورية", BODY + "\nخاتمة.")
        assert (position.start, release.anchoring[0].how) == (BODY.index("سورية"), "kept")

    def test_deleting_the_quote_orphans_the_position_and_hides_it(self, client):
        release, position = self.place(BODY, "سورية", BODY.replace("سورية", "المنطقة"))
        assert position.orphaned and position.quote == "سورية"
        release.status = Release.Status.PUBLISHED
        with pytest.raises(Exception, match="p1"):
            release.full_clean()
        assert listing.drift() == []

    def test_duplicate_quotes_are_told_apart_by_their_context(self):
        body = "دعت المنظمة إلى الحوار في سورية. ودعت أيضا إلى الحوار في أفغانستان."
        # The second "إلى الحوار"; then text is inserted before both.
        new = "مقدمة. " + body.replace("دعت المنظمة", "دعت منظمة المعاهدة")
        release, position = self.place(body, "إلى الحوار", new, occurrence=1)
        assert not position.orphaned
        assert release.body[position.end :].startswith(" في أفغانستان")

    def test_indistinguishable_duplicates_orphan_rather_than_guess(self):
        body = "أ الحوار ب"
        new = "جج الحوار د جج الحوار د"
        _release, position = self.place(body, "الحوار", new)
        # Both occurrences match the old surroundings equally badly: no guess.
        assert position.orphaned

    def test_an_orphan_placed_again_by_selection_becomes_public_again(self, publisher_client):
        release, position = self.place(BODY, "سورية", BODY.replace("سورية", "المنطقة"))
        data = selection(
            release,
            "المنطقة",
            position=position.pk,
            expected_revision=position.revision,
        )
        response = publisher_client.post(annotate_url(release), data, **JSON)
        assert response.status_code == 200, response.json()
        position.refresh_from_db()
        assert not position.orphaned and position.quote == "المنطقة"

    def test_restoring_the_old_text_finds_the_orphan_again(self):
        release, position = self.place(BODY, "سورية", BODY.replace("سورية", "المنطقة"))
        assert position.orphaned
        release.body = BODY
        release.save()
        position.refresh_from_db()
        assert not position.orphaned
        assert release.body[position.start : position.end] == "سورية"


class TestOptimisticLocking:
    def test_two_editors_save_the_same_release_the_second_is_refused(self):
        release = make_release(status=Release.Status.DRAFT)
        first, second = Client(), english(Client())
        first.force_login(make_user("editors"))
        second.force_login(make_user("editors"))
        mine = release_form_data(release, title="عنوان المحرر الأول")
        theirs = release_form_data(release, title="عنوان المحرر الثاني")
        assert first.post(admin_url(Release, "change", release.pk), mine).status_code == 302
        response = second.post(admin_url(Release, "change", release.pk), theirs)
        assert response.status_code == 200
        assert "Someone else saved this record" in response.text
        changes = admin_url(Release, "changes", release.pk)
        assert f'<a href="{changes}" target="_blank"' in response.text
        # The second editor's input is still in the form, not lost.
        assert "عنوان المحرر الثاني" in response.text
        release.refresh_from_db()
        assert release.title == "عنوان المحرر الأول"

    def test_the_model_refuses_a_stale_copy(self):
        release = make_release(status=Release.Status.DRAFT)
        a = Release.objects.get(pk=release.pk)
        b = Release.objects.get(pk=release.pk)
        a.title = "أ"
        a.save()
        b.title = "ب"
        with pytest.raises(EditConflict):
            b.save()
        release.refresh_from_db()
        assert release.title == "أ"

    def test_a_stale_inline_position_is_refused_not_overwritten(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        position = make_position(release, quote="سورية", topics=[make_topic()])
        data = release_form_data(release)
        other = Position.objects.get(pk=position.pk)
        other.summary = "ملخص محرر آخر"
        other.save()
        response = english(editor_client).post(admin_url(Release, "change", release.pk), data)
        assert response.status_code == 200
        assert "Someone else saved this record" in response.text
        position.refresh_from_db()
        assert position.summary == "ملخص محرر آخر"

    def test_a_passage_across_a_line_break_follows_a_text_edit(self, editor_client):
        """A browser sends a textarea's line breaks as CRLF. An untouched position whose
        quote spans a line break looked changed (CRLF against LF), so it was checked
        against the edited text at its old offsets and the save was refused (found by
        bench/load.py's editors)."""
        body = "أكدت المنظمة دعمها.\nودعت إلى الحوار في سورية."
        release = make_release(status=Release.Status.DRAFT, body=body)
        start = body.index("دعمها")
        quote = body[start : body.index(" إلى")]
        assert "\n" in quote
        position = make_position(
            release, start=start, end=start + len(quote), quote=quote, topics=[make_topic()]
        )
        data = release_form_data(release, body="تمهيد.\r\n" + body.replace("\n", "\r\n"))
        data["positions-0-quote"] = quote.replace("\n", "\r\n")
        response = editor_client.post(admin_url(Release, "change", release.pk), data)
        assert response.status_code == 302, re.findall(r"errorlist[^>]*>(.*?)</ul>", response.text)
        position.refresh_from_db()
        release.refresh_from_db()
        assert release.body.startswith("تمهيد.\n")
        assert release.body[position.start : position.end] == quote
        assert not position.orphaned


class TestWorkflow:
    def post(self, client, release, transition, **changes):
        data = release_form_data(release, **changes)
        data["_transition"] = transition
        return client.post(admin_url(Release, "change", release.pk), data)

    def test_buttons_per_role(self, editor_client, publisher_client):
        draft = make_release(status=Release.Status.DRAFT)
        editor_page = editor_client.get(admin_url(Release, "change", draft.pk)).text
        assert 'value="review"' in editor_page and 'value="published"' not in editor_page
        publisher_page = publisher_client.get(admin_url(Release, "change", draft.pk)).text
        assert 'value="published"' in publisher_page

    def test_an_editor_sends_for_review_but_cannot_publish(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        assert self.post(editor_client, release, "review").status_code == 302
        release.refresh_from_db()
        assert release.status == Release.Status.IN_REVIEW
        response = self.post(editor_client, release, "published")
        assert response.status_code == 200
        release.refresh_from_db()
        assert release.status == Release.Status.IN_REVIEW

    def test_a_publisher_publishes_and_it_is_recorded_who_and_when(
        self, publisher_client, publisher
    ):
        release = make_release(status=Release.Status.IN_REVIEW)
        assert self.post(publisher_client, release, "published").status_code == 302
        release.refresh_from_db()
        assert release.status == Release.Status.PUBLISHED
        assert release.published_by == publisher and release.published_at is not None

    def test_withdrawing_needs_a_public_reason(self, publisher_client):
        release = make_release(status=Release.Status.PUBLISHED)
        response = self.post(publisher_client, release, "withdrawn")
        assert response.status_code == 200
        assert "withdrawal_reason" in response.context["adminform"].form.errors
        response = self.post(
            publisher_client, release, "withdrawn", withdrawal_reason="نُسب خطأً إلى المنظمة"
        )
        assert response.status_code == 302
        release.refresh_from_db()
        assert release.status == Release.Status.WITHDRAWN

    def test_publishing_is_refused_while_positions_are_orphaned(self, publisher_client):
        release = make_release(status=Release.Status.IN_REVIEW)
        make_position(release, quote="سورية", topics=[make_topic()])
        release.body = BODY.replace("سورية", "المنطقة")
        release.save()
        response = self.post(publisher_client, release, "published")
        assert response.status_code == 200
        assert "#p1" in response.text
        release.refresh_from_db()
        assert release.status == Release.Status.IN_REVIEW

    def test_needs_attention_filters(self, editor_client):
        review = make_release(status=Release.Status.IN_REVIEW, title="في المراجعة")
        orphaned = make_release(status=Release.Status.DRAFT, title="فيه يتيم")
        make_position(orphaned, quote="سورية")
        orphaned.body = BODY.replace("سورية", "المنطقة")
        orphaned.save()
        make_release(status=Release.Status.DRAFT, title="عادي")
        changelist = admin_url(Release, "changelist")
        page = editor_client.get(changelist, {"attention": "review"})
        assert [r.pk for r in page.context["cl"].result_list] == [review.pk]
        page = editor_client.get(changelist, {"attention": "orphaned"})
        assert [r.pk for r in page.context["cl"].result_list] == [orphaned.pk]
