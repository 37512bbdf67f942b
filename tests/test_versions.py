"""Public versions: /r/<id>/v/<n>/ shows a release exactly as it was; the change log says
what changed. Versions are recorded when an edit commits (statements.versions), so these
tests run the commit hooks."""

import datetime

import pytest
from django.urls import reverse

from statements.models import DatePrecision, Position, Release, ReleaseVersion, Topic
from tests.factories import (
    admin_url,
    make_position,
    make_release,
    make_source,
    release_form_data,
)

pytestmark = pytest.mark.django_db

BODY = "أكدت المنظمة دعمها لسيادة الدول. ودعت إلى تسوية سياسية في سورية."


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what an edit does when it commits: ``with commit(): ...``."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def published(commit):
    with commit():
        release = make_release(
            body=BODY,
            dateline="موسكو",
            published_on=datetime.date(2018, 11, 8),
            published_precision=DatePrecision.DAY,
        )
        make_position(
            release, quote="أكدت المنظمة دعمها", topics=[Topic.objects.get(slug="sovereignty")]
        )
    return release


def version_url(release, n):
    return reverse("statements:release-version", args=[release.public_id, n])


def test_publishing_records_version_one_and_nothing_unchanged_adds_one(published, commit):
    version = published.versions.get()
    assert (version.number, version.changes) == (1, [["published", ""]])
    assert version.short_hash == Release.fingerprint(BODY)[:12]
    with commit():
        published.save()
        published.positions.first().save()
    assert published.versions.count() == 1


def test_a_draft_has_no_version(commit):
    with commit():
        make_position(make_release(status=Release.Status.DRAFT, body=BODY), quote="أكدت")
    assert not ReleaseVersion.objects.exists()


def test_a_version_page_shows_the_release_as_it_was(client, published, commit):
    with commit():
        published.dateline = "أستانا"
        published.save()
        make_position(published, quote="تسوية سياسية", stance=Position.Stance.CALLS_FOR)
    assert [v.changes for v in published.versions.all()] == [
        [["published", ""]],
        [["field", "dateline"], ["position_added", 2]],
    ]
    old = client.get(version_url(published, 1))
    assert old.status_code == 200
    assert "موسكو" in old.text and "أستانا" not in old.text.split("<article>")[1]
    assert [p.number for p in old.context["positions"]] == [1]
    assert [t.slug for t in old.context["positions"][0].topic_list] == ["sovereignty"]
    assert 'id="p1"' in old.text and 'id="p2"' not in old.text
    # The banner says a later version exists and what it changed.
    assert "الإصدار 2" in old.text and "إضافة الموقف 2" in old.text
    current = client.get(version_url(published, 2))
    assert 'id="p2"' in current.text and "أستانا" in current.text
    assert client.get(published.get_absolute_url()).context["version"].number == 2


def test_a_corrected_text_keeps_the_old_text_in_its_version(client, published, commit):
    with commit():
        published.body = BODY + " وأعربت عن قلقها."
        published.save()
    assert published.versions.last().changes == [["text", ""]]
    old = client.get(version_url(published, 1))
    assert "وأعربت عن قلقها" not in old.text
    assert old.context["version"].short_hash != published.versions.last().short_hash


def test_one_admin_save_is_one_version(published, commit):
    from django.test import Client

    from tests.factories import make_user

    client = Client()
    client.force_login(make_user("publishers"))
    data = release_form_data(published, dateline="يريفان", title="عنوان جديد")
    with commit():
        response = client.post(admin_url(Release, "change", published.pk), data)
    assert response.status_code == 302
    assert [v.changes for v in published.versions.all()][1:] == [
        [["field", "title"], ["field", "dateline"]]
    ]


def test_relays_and_removed_positions_are_changes(published, commit):
    with commit():
        published.relayed_from.add(make_source())
    with commit():
        published.positions.first().delete()
    assert [v.changes for v in published.versions.all()][1:] == [
        [["source", ""]],
        [["position_removed", 1]],
    ]


def test_the_change_log(client, published, commit):
    with commit():
        published.dateline = "أستانا"
        published.save()
    response = client.get(reverse("statements:release-changes", args=[published.public_id]))
    assert response.status_code == 200
    assert [v.number for v, _ in response.context["history"]] == [2, 1]
    assert "تصحيح مكان الصدور" in response.text and "أول نشر" in response.text
    client.cookies["django_language"] = "en"
    english = client.get(reverse("statements:release-changes", args=[published.public_id]))
    assert "Corrected dateline" in english.text and "First published" in english.text


def test_versions_of_withdrawn_drafts_and_unknown_numbers(client, published, commit):
    assert client.get(version_url(published, 2)).status_code == 404
    draft = make_release(status=Release.Status.DRAFT)
    assert client.get(version_url(draft, 1)).status_code == 404
    with commit():
        published.status = Release.Status.WITHDRAWN
        published.withdrawal_reason = "نُشر خطأً"
        published.save()
    gone = client.get(version_url(published, 1))
    assert gone.status_code == 410 and "نُشر خطأً" in gone.text
    assert published.versions.count() == 1  # a withdrawal is not a new public version
