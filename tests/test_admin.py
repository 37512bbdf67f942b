"""The editorial admin: every page renders; groups, sanitation and anchoring are enforced."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import reverse

from statements.models import Position, Release
from tests.factories import (
    admin_url,
    make_position,
    make_release,
    make_topic,
    make_user,
    position_form_data,
    release_form_data,
    run_action,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(db):
    client = Client()
    client.force_login(make_user(is_superuser=True))
    return client


class TestEveryPageRenders:
    def test_changelist_add_change_and_history_of_every_registered_model(
        self, superuser_client, demo
    ):
        assert admin.site._registry, "no ModelAdmin registered"
        request = RequestFactory().get("/")
        request.user = make_user(is_superuser=True)
        for model, model_admin in admin.site._registry.items():
            obj = model._default_manager.first()
            if model._meta.app_label == "axes" and obj is None:
                # The login guard's records: none of some kinds until someone fails to log in.
                assert superuser_client.get(admin_url(model, "changelist")).status_code == 200
                continue
            assert obj is not None, f"no {model.__name__} in the demo data"
            pages = [admin_url(model, "changelist")]
            if model_admin.has_add_permission(request):
                pages.append(admin_url(model, "add"))
            pages += [admin_url(model, "change", obj.pk), admin_url(model, "history", obj.pk)]
            for url in pages:
                response = superuser_client.get(url)
                assert response.status_code == 200, url

    def test_admin_is_arabic_and_right_to_left(self, superuser_client):
        response = superuser_client.get(reverse("admin:index"))
        assert 'dir="rtl"' in response.text
        assert 'lang="ar"' in response.text
        assert "تحرير الأرشيف" in response.text

    def test_changelist_search_filters_and_date_hierarchy(self, superuser_client, demo):
        url = admin_url(Release, "changelist")
        for query in [
            "?q=كازخستان",
            "?status__exact=published",
            "?published_on__year=2018",
            "?precision=year",
            f"?q={demo[0].public_id}",
        ]:
            response = superuser_client.get(url + query)
            assert response.status_code == 200, query
        # The admin's search box is the Arabic search: any spelling finds both seeds.
        response = superuser_client.get(url + "?q=كازخستان")
        assert response.context["cl"].result_count == 2
        response = superuser_client.get(url + "?q=الشؤون")
        assert [r.public_id for r in response.context["cl"].result_list] == [demo[1].public_id]
        response = superuser_client.get(url + f"?q={demo[0].public_id}")
        assert demo[0].public_id in [r.public_id for r in response.context["cl"].result_list]
        response = superuser_client.get(admin_url(Position, "changelist") + "?q=داعش")
        assert response.context["cl"].result_count == 2

    def test_autocomplete_finds_topics_by_alias(self, superuser_client, demo):
        response = superuser_client.get(
            reverse("admin:autocomplete"),
            {
                "term": "سوريا",
                "app_label": "statements",
                "model_name": "position",
                "field_name": "topics",
            },
        )
        assert response.status_code == 200
        assert "سورية" in [r["text"] for r in response.json()["results"]]


class TestGroups:
    def test_groups_exist_with_their_permissions(self):
        editors = set(
            Group.objects.get(name="editors").permissions.values_list("codename", flat=True)
        )
        publishers = set(
            Group.objects.get(name="publishers").permissions.values_list("codename", flat=True)
        )
        assert "change_release" in editors
        assert "publish_release" not in editors
        assert "publish_release" in publishers
        assert editors < publishers

    def test_editor_cannot_publish(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        response = editor_client.get(admin_url(Release, "change", release.pk))
        choices = [v for v, _ in response.context["adminform"].form.fields["status"].choices]
        assert choices == ["draft", "review"]
        response = editor_client.post(
            admin_url(Release, "change", release.pk), release_form_data(release, status="published")
        )
        assert response.status_code == 200  # the form comes back with an error
        release.refresh_from_db()
        assert release.status == Release.Status.DRAFT

    def test_editor_has_no_publish_action_and_can_send_for_review(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        response = editor_client.get(admin_url(Release, "changelist"))
        actions = [name for name, _ in response.context["action_form"].fields["action"].choices]
        assert "publish" not in actions
        assert "submit_for_review" in actions
        run_action(editor_client, "publish", release)
        release.refresh_from_db()
        assert release.status == Release.Status.DRAFT
        run_action(editor_client, "submit_for_review", release)
        release.refresh_from_db()
        assert release.status == Release.Status.IN_REVIEW

    def test_editor_cannot_change_a_published_release_or_its_positions(self, editor_client):
        release = make_release(status=Release.Status.PUBLISHED)
        position = make_position(release, quote="منظمة", topics=[make_topic()])
        response = editor_client.post(
            admin_url(Release, "change", release.pk), release_form_data(release, title="تغيير")
        )
        assert response.status_code == 403
        response = editor_client.post(
            admin_url(Position, "change", position.pk),
            position_form_data(position, stance="rejects", summary="تغيير"),
        )
        assert response.status_code == 403
        release.refresh_from_db()
        position.refresh_from_db()
        assert (release.title, position.stance, position.summary) == ("", "supports", "ملخص الموقف")

    def test_editor_cannot_attach_a_position_to_a_published_release(self, editor_client):
        release = make_release(status=Release.Status.PUBLISHED)
        quote = "منظمة"
        start = release.body.index(quote)
        response = editor_client.post(
            admin_url(Position, "add"),
            {
                "release": release.pk,
                "start": start,
                "end": start + len(quote),
                "quote": quote,
                "stance": "supports",
                "attribution": "direct",
                "summary": "x",
            },
        )
        assert response.status_code == 200
        assert "publisher" in response.text or "الناشر" in response.text
        assert not Position.objects.exists()

    def test_publisher_publishes_and_withdraws_with_a_reason(self, publisher_client):
        release = make_release(status=Release.Status.IN_REVIEW)
        run_action(publisher_client, "publish", release)
        release.refresh_from_db()
        assert release.status == Release.Status.PUBLISHED
        assert release.first_published_at is not None

        response = publisher_client.post(
            admin_url(Release, "change", release.pk), release_form_data(release, status="withdrawn")
        )
        assert response.status_code == 200
        assert "withdrawal_reason" in response.context["adminform"].form.errors
        response = publisher_client.post(
            admin_url(Release, "change", release.pk),
            release_form_data(release, status="withdrawn", withdrawal_reason="نُسب خطأً إلى المنظمة"),
        )
        assert response.status_code == 302
        release.refresh_from_db()
        assert release.status == Release.Status.WITHDRAWN

    def test_a_release_that_was_ever_published_cannot_be_deleted(self, publisher_client):
        release = make_release(status=Release.Status.PUBLISHED)
        response = publisher_client.post(admin_url(Release, "delete", release.pk), {"post": "yes"})
        assert response.status_code == 403
        assert Release.objects.filter(pk=release.pk).exists()
        draft = make_release(status=Release.Status.DRAFT, body="مسودة")
        response = publisher_client.post(admin_url(Release, "delete", draft.pk), {"post": "yes"})
        assert response.status_code == 302
        assert not Release.objects.filter(pk=draft.pk).exists()


class TestEditingText:
    def test_pasted_text_is_sanitized_and_the_editor_is_told(self, editor_client, editor):
        release = make_release(status=Release.Status.DRAFT)
        response = editor_client.post(
            admin_url(Release, "change", release.pk),
            release_form_data(release, body="  نص\u202e جديد\r\nسطر ثان  ", title="عنوان\u202d"),
            follow=True,
        )
        assert response.status_code == 200
        release.refresh_from_db()
        assert release.body == "نص جديد\nسطر ثان"
        assert release.title == "عنوان"
        messages = [str(m) for m in response.context["messages"]]
        assert any("U+202E RLO" in m for m in messages)
        assert any("U+202D LRO" in m for m in messages)
        assert release.history.first().history_user == editor

    def test_body_edit_moves_an_untouched_passage_with_it_and_says_so(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        position = make_position(release, quote="سورية", topics=[make_topic()])
        old_start = position.start
        response = editor_client.post(
            admin_url(Release, "change", release.pk),
            release_form_data(release, body="مقدمة جديدة. " + release.body),
            follow=True,
        )
        assert response.status_code == 200
        messages = [str(m) for m in response.context["messages"]]
        assert any("#p1" in m and "نُقل" in m for m in messages), messages
        release.refresh_from_db()
        assert release.body.startswith("مقدمة جديدة. ")
        position.refresh_from_db()
        assert position.start == old_start + len("مقدمة جديدة. ")
        assert release.body[position.start : position.end] == position.quote
        assert not position.orphaned

    def test_body_edit_with_positions_corrected_in_the_same_save_is_accepted(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        position = make_position(release, quote="سورية", topics=[make_topic()])
        prefix = "مقدمة جديدة. "
        data = release_form_data(release, body=prefix + release.body)
        data["positions-0-start"] = position.start + len(prefix)
        data["positions-0-end"] = position.end + len(prefix)
        response = editor_client.post(admin_url(Release, "change", release.pk), data)
        assert response.status_code == 302
        position.refresh_from_db()
        release.refresh_from_db()
        assert release.body[position.start : position.end] == "سورية"

    def test_inline_position_with_a_wrong_quote_is_refused(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        make_position(release, quote="سورية")
        data = release_form_data(release)
        data["positions-0-quote"] = "سوريا"
        response = editor_client.post(admin_url(Release, "change", release.pk), data)
        assert response.status_code == 200
        assert Position.objects.get().quote == "سورية"

    def test_new_position_through_the_inline(self, editor_client):
        release = make_release(status=Release.Status.DRAFT)
        quote = "منظمة معاهدة الأمن الجماعي"
        start = release.body.index(quote)
        data = release_form_data(release)
        data.update(
            {
                "positions-TOTAL_FORMS": 1,
                "positions-0-release": release.pk,
                "positions-0-stance": "affirms",
                "positions-0-attribution": "direct",
                "positions-0-start": start,
                "positions-0-end": start + len(quote),
                "positions-0-quote": quote,
                "positions-0-summary": "ملخص",
                "positions-0-topics": [make_topic().pk],
            }
        )
        response = editor_client.post(admin_url(Release, "change", release.pk), data)
        assert response.status_code == 302, response.context["inline_admin_formsets"][
            0
        ].formset.errors
        position = Position.objects.get()
        assert (position.number, position.quote) == (1, quote)
