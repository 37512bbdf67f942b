"""The editorial desk's history: who changed what, a word diff of two texts, restore.

Edits go through the admin (so simple_history records the user from the
request) or set ``_history_user``, as an editor's save would.
"""

import pytest
from django.conf import settings
from django.contrib.messages import constants
from django.test import Client
from django.urls import reverse

from statements.admin_history import word_diff
from statements.models import EditConflict, Position, Release
from tests.factories import (
    BODY,
    admin_url,
    make_position,
    make_release,
    make_topic,
    make_user,
    position_form_data,
    release_form_data,
)

pytestmark = pytest.mark.django_db

NEW_BODY = BODY.replace("في سورية", "في ليبيا")
INTRO = "مقدمة جديدة عن الأمن الجماعي.\n"


def english(client):
    """The admin in English, to match on message text (the desk's default is Arabic)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def url(name, release, *args):
    return reverse(f"admin:statements_release_{name}", args=[release.pk, *args])


def seen(release):
    """The restore form's POST, as the confirmation page (loaded now) sends it."""
    return {"expected_revision": Release.objects.get(pk=release.pk).revision}


def fresh(release):
    return Release.objects.get(pk=release.pk)


def edit_body(client, release, body, **changes):
    """Change the text through the admin's change form, as an editor does."""
    release = fresh(release)
    response = client.post(
        admin_url(Release, "change", release.pk), release_form_data(release, body=body, **changes)
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    return fresh(release)


def save_as(user, release, **values):
    """Change a release outside a request, recorded under ``user``'s name."""
    release = fresh(release)
    for name, value in values.items():
        setattr(release, name, value)
    release._history_user = user
    release.save()
    return release


def messages_of(response):
    return [(m.level, str(m)) for m in response.context["messages"]]


@pytest.fixture
def other_editor(db):
    return make_user("editors", username="second_editor")


class TestChangesPage:
    def test_lists_a_body_edit_and_a_position_change_with_their_users(
        self, editor_client, other_editor
    ):
        release = make_release(status=Release.Status.DRAFT, title="عنوان أول")
        topic = make_topic()
        position = make_position(release, quote="منظمة معاهدة", topics=[topic])
        edit_body(editor_client, release, NEW_BODY, title="عنوان ثان")
        position.refresh_from_db()
        client = Client()
        client.force_login(other_editor)
        response = client.post(
            admin_url(Position, "change", position.pk),
            position_form_data(position, stance="rejects", expected_revision=position.revision),
        )
        assert response.status_code == 302
        assert release.history.count() == 2  # created, then the editor's edit

        response = english(editor_client).get(url("changes", release))
        assert response.status_code == 200
        entries = response.context["entries"]
        # Newest first: the position's stance, the release's edit, the position's
        # topics (set after it was created), the position's and the release's creation
        # (by no user: a script).
        assert [(e.is_release, e.record.history_type) for e in entries] == [
            (False, "~"),
            (True, "~"),
            (False, "~"),
            (False, "+"),
            (True, "+"),
        ]
        stance, edit, topics = entries[0], entries[1], entries[2]
        assert stance.who == "second_editor"
        assert [(c.name, c.old, c.new) for c in stance.changes] == [
            ("stance", "supports", "rejects")
        ]
        assert [(c.name, c.old, c.new) for c in topics.changes] == [("topics", "—", topic.name_ar)]
        assert edit.who == "editor"
        assert [c.name for c in edit.changes] == ["title", "body"]
        assert [(c.old, c.new) for c in edit.changes if c.name == "title"] == [
            ("عنوان أول", "عنوان ثان")
        ]
        assert entries[4].who == "system (import or script)"
        page = response.text
        assert "second_editor" in page
        assert "text changed" in page
        assert "عنوان أول" in page and "عنوان ثان" in page
        diff_link = f"?a={edit.previous.history_id}&amp;b={edit.record.history_id}"
        assert diff_link in page
        # Noise is not listed as a change.
        assert "revision" not in [c.name for c in edit.changes]

    def test_deleted_positions_are_listed_and_pages_hold_fifty(self, editor_client, monkeypatch):
        release = make_release(status=Release.Status.DRAFT)
        position = make_position(release, quote="منظمة معاهدة")
        position.delete()
        response = editor_client.get(url("changes", release))
        kinds = [(e.is_release, e.record.history_type) for e in response.context["entries"]]
        assert kinds == [(False, "-"), (False, "+"), (True, "+")]

        monkeypatch.setattr("statements.admin_history.PAGE_SIZE", 2)
        response = editor_client.get(url("changes", release) + "?page=2")
        assert [e.is_release for e in response.context["entries"]] == [True]
        assert response.context["page"].paginator.num_pages == 2

    def test_the_change_page_links_to_the_changes(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        response = editor_client.get(admin_url(Release, "change", release.pk))
        assert f'href="{url("changes", release)}"' in response.text


class TestCompare:
    def test_a_changed_word_is_deleted_and_inserted(self, editor_client, editor):
        release = make_release(status=Release.Status.DRAFT, title="عنوان أول")
        edit_body(editor_client, release, NEW_BODY, title="عنوان ثان")
        response = english(editor_client).get(url("compare", release))  # default: last edit
        assert response.status_code == 200
        page = response.text
        assert "سورية</del>" in page
        assert "ليبيا</ins>" in page
        assert "<del><span" in page and "deleted:" in page
        # Words in both texts are not marked.
        diff = str(response.context["diff"])
        assert diff.count("<del>") == diff.count("<ins>") == 1
        assert diff.startswith("أعربت بلدان منظمة معاهدة الأمن الجماعي")
        assert diff.endswith("ليبيا</ins>.\nوأكدت المنظمة دعمها لسيادة الدول ووحدة أراضيها.")
        assert [(c.name, c.old, c.new) for c in response.context["other_changes"]] == [
            ("title", "عنوان أول", "عنوان ثان")
        ]
        # The same two versions chosen by hand, in either order.
        older, newer = release.history.order_by("history_date")
        for a, b in [(older, newer), (newer, older)]:
            response = editor_client.get(
                url("compare", release), {"a": a.history_id, "b": b.history_id}
            )
            assert response.context["older"] == older
            assert "ليبيا</ins>" in response.text

    def test_word_diff_keeps_every_character(self):
        old, new = "أ ب\nج  د", "أ س\nج د هـ"
        segments = word_diff(old, new)
        assert "".join(t for op, t in segments if op != "insert") == old
        assert "".join(t for op, t in segments if op != "delete") == new
        assert ("delete", "ب") in segments and ("insert", "س") in segments

    def test_bad_missing_or_foreign_ids_are_404(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        other = make_release(status=Release.Status.DRAFT)
        foreign = other.history.first().history_id
        for params in [
            {"a": "abc"},
            {"a": "999999999"},
            {"a": foreign},
            {"b": "99999999999999999999999999"},
            {"a": ""},
            {"a": "-1"},
        ]:
            response = editor_client.get(url("compare", release), params)
            assert response.status_code == 404, params
        for path in [
            url("restore", release, foreign),
            url("restore", release, 99999999),
            reverse("admin:statements_release_changes", args=["999999"]),
            reverse("admin:statements_release_compare", args=["not-a-number"]),
        ]:
            assert editor_client.get(path).status_code == 404, path
            assert editor_client.post(path).status_code == 404, path


class TestRestore:
    def make_history(self, editor):
        """A release whose text was extended; a position on a passage in both texts,
        one on a passage only in the newer text."""
        release = make_release(status=Release.Status.DRAFT)
        both = make_position(release, quote="سورية")
        release = save_as(editor, release, body=INTRO + BODY)
        newer_only = make_position(release, quote="مقدمة جديدة")
        both.refresh_from_db()
        assert release.body[both.start : both.end] == "سورية"
        original = release.history.order_by("history_date").first()
        assert original.body == BODY
        return release, both, newer_only, original

    def test_get_shows_what_will_change_and_changes_nothing(self, editor_client, editor):
        release, both, newer_only, original = self.make_history(editor)
        records = release.history.count()
        response = english(editor_client).get(url("restore", release, original.history_id))
        assert response.status_code == 200
        assert [(o.number, o.how) for o, _p in response.context["outcomes"]] == [
            (both.number, "moved"),
            (newer_only.number, "orphaned"),
        ]
        page = response.text
        diff = str(response.context["diff"])
        assert diff.startswith("<del>") and diff.count("<del>") == 1 and "<ins>" not in diff
        assert "</span>مقدمة جديدة عن الأمن الجماعي.\n</del>أعربت" in diff
        assert "will be orphaned" in page
        assert 'method="post"' in page
        stored = fresh(release)
        assert (stored.body, stored.revision) == (release.body, release.revision)
        assert release.history.count() == records
        assert not Position.objects.filter(orphaned=True).exists()

    def test_post_restores_the_text_and_re_anchors_the_positions(self, editor_client, editor):
        release, both, newer_only, original = self.make_history(editor)
        response = english(editor_client).post(
            url("restore", release, original.history_id), seen(release), follow=True
        )
        assert response.redirect_chain[-1][0] == admin_url(Release, "change", release.pk)
        release = fresh(release)
        assert release.body == BODY
        both.refresh_from_db()
        newer_only.refresh_from_db()
        assert not both.orphaned
        assert release.body[both.start : both.end] == both.quote == "سورية"
        assert newer_only.orphaned
        assert release.body[newer_only.start : newer_only.end] != newer_only.quote
        notes = messages_of(response)
        assert notes[0][0] == constants.SUCCESS
        assert notes[0][1].startswith("Restored the text of ")
        assert notes[0][1].endswith("by system (import or script).")
        warnings = [text for level, text in notes if level == constants.WARNING]
        assert len(warnings) == 1
        assert f"#p{newer_only.number}" in warnings[0] and "orphaned" in warnings[0]
        assert f"#p{both.number}" not in warnings[0]
        # The restore is itself a record of the history, by the editor who made it.
        latest = release.history.order_by("-history_date").first()
        assert latest.history_user.username == "editor"
        assert latest.body == BODY
        assert "restore" in latest.history_change_reason

    def test_restore_of_an_identical_text_saves_nothing(self, editor_client, editor):
        release = make_release(status=Release.Status.DRAFT)
        release = save_as(editor, release, title="عنوان")
        latest = release.history.order_by("-history_date").first()
        response = english(editor_client).post(
            url("restore", release, latest.history_id), seen(release)
        )
        assert response.status_code == 302
        assert fresh(release).revision == release.revision
        assert release.history.count() == 2
        response = english(editor_client).get(admin_url(Release, "change", release.pk))
        assert any("nothing to restore" in text for _level, text in messages_of(response))

    def test_an_editor_cannot_restore_a_published_release_and_a_publisher_can(
        self, editor_client, publisher_client, editor
    ):
        release = make_release(status=Release.Status.PUBLISHED)
        release = save_as(editor, release, body=NEW_BODY)
        original = release.history.order_by("history_date").first()
        restore = url("restore", release, original.history_id)
        assert editor_client.get(url("changes", release)).status_code == 200
        assert editor_client.get(restore).status_code == 403
        assert editor_client.post(restore, seen(release)).status_code == 403
        assert fresh(release).body == NEW_BODY
        assert publisher_client.post(restore, seen(release)).status_code == 302
        assert fresh(release).body == BODY

    def test_a_change_made_since_the_confirmation_page_is_not_undone(self, editor_client, editor):
        release, _both, _newer, original = self.make_history(editor)
        confirmed = seen(release)
        save_as(editor, fresh(release), title="تغيير لاحق")
        response = english(editor_client).post(
            url("restore", release, original.history_id), confirmed, follow=True
        )
        assert fresh(release).body == INTRO + BODY
        assert fresh(release).title == "تغيير لاحق"
        errors = [text for level, text in messages_of(response) if level == constants.ERROR]
        assert errors and "changed since you opened the confirmation page" in errors[0]

    def test_a_conflicting_save_is_reported_not_a_500(self, editor_client, editor, monkeypatch):
        release, _both, _newer, original = self.make_history(editor)

        def conflict(self, *args, **kwargs):
            raise EditConflict(self)

        monkeypatch.setattr(Release, "save", conflict)
        response = english(editor_client).post(
            url("restore", release, original.history_id), seen(release), follow=True
        )
        assert response.status_code == 200
        monkeypatch.undo()
        assert fresh(release).body == INTRO + BODY
        errors = [text for level, text in messages_of(response) if level == constants.ERROR]
        assert errors and "nothing was restored" in errors[0]

    def test_a_merged_release_cannot_be_restored(self, publisher_client, editor):
        from statements import merging

        kept = make_release(status=Release.Status.PUBLISHED)
        duplicate = make_release(status=Release.Status.PUBLISHED, body=BODY + "\nنسخة")
        original = duplicate.history.order_by("history_date").first()
        merging.merge(duplicate, kept)
        response = english(publisher_client).post(
            url("restore", duplicate, original.history_id), seen(duplicate), follow=True
        )
        assert fresh(duplicate).status == Release.Status.MERGED
        assert any("merged release cannot be restored" in t for _l, t in messages_of(response))
