"""Permalinks that never break: pretty URLs, passage paths, merged duplicates, withdrawals.

Every form of permalink resolves with 200, 301 or 410 after slug changes, edits, merges
and withdrawals; nothing that was ever published answers 404.
"""

import pytest
from django.urls import reverse
from django.utils.text import slugify

from statements import merging
from statements.models import Position, Release, Topic
from tests.factories import admin_url, make_position, make_release, make_user

pytestmark = pytest.mark.django_db

BODY = "أكدت المنظمة دعمها لسيادة الدول. ودعت إلى تسوية سياسية في سورية. وحذرت من الإرهاب."


@pytest.fixture
def pair(django_capture_on_commit_callbacks):
    """The same text imported twice, each copy with its own positions."""
    with django_capture_on_commit_callbacks(execute=True):
        kept = make_release(body=BODY, title="بيان المنظمة")
        duplicate = make_release(body=BODY, title="بيان المنظمة (نسخة)")
        make_position(kept, quote="أكدت المنظمة دعمها")  # kept p1
        make_position(kept, quote="ودعت إلى تسوية سياسية")  # kept p2
        make_position(duplicate, quote="ودعت إلى تسوية سياسية")  # dup p1 = kept p2
        warns = make_position(
            duplicate, quote="وحذرت من الإرهاب", stance=Position.Stance.WARNS
        )  # dup p2: new to kept
        warns.topics.set([Topic.objects.get(slug="syria")])
    return kept, duplicate


def forms_of(release, number=1):
    pid = release.public_id
    return {
        "permalink": f"/r/{pid}/",
        "pretty": f"/r/{pid}/{slugify(release.display_title, allow_unicode=True)}/",
        "old slug": f"/r/{pid}/اسم-قديم/",
        "passage": f"/r/{pid}/p/{number}/",
        "version": f"/r/{pid}/v/1/",
        "changes": f"/r/{pid}/changes/",
        "citation": f"/r/{pid}/cite.ris",
    }


def test_pretty_urls_and_passage_paths_lead_to_the_permalink(client, pair):
    kept, _ = pair
    for name, url in forms_of(kept).items():
        response = client.get(url)
        if name in ("pretty", "old slug"):
            assert (response.status_code, response["Location"]) == (301, f"/r/{kept.public_id}/")
        elif name == "passage":
            assert response["Location"] == f"/r/{kept.public_id}/#p1"
        else:
            assert response.status_code == 200, name


def test_a_merged_duplicate_leads_to_the_release_kept_passages_included(
    client, pair, django_capture_on_commit_callbacks
):
    kept, duplicate = pair
    with django_capture_on_commit_callbacks(execute=True):
        assert merging.merge(duplicate, kept) == []
    duplicate.refresh_from_db()
    assert duplicate.status == Release.Status.MERGED
    assert duplicate.merged_positions == {"1": 2, "2": 3}
    copied = kept.positions.get(number=3)
    assert (copied.quote, copied.stance) == ("وحذرت من الإرهاب", Position.Stance.WARNS)
    assert list(copied.topics.values_list("slug", flat=True)) == ["syria"]
    pid, kid = duplicate.public_id, kept.public_id
    expected = {
        f"/r/{pid}/": f"/r/{kid}/?merged={pid}",
        f"/r/{pid}/v/1/": f"/r/{kid}/?merged={pid}",
        f"/r/{pid}/p/1/": f"/r/{kid}/#p2",
        f"/r/{pid}/p/2/": f"/r/{kid}/#p3",
        f"/r/{pid}/p/9/": f"/r/{kid}/?merged={pid}",
        f"/r/{pid}/changes/": f"/r/{kid}/changes/",
        f"/r/{pid}/cite.ris?p=2": f"/r/{kid}/cite.ris?p=3",
        f"/r/{pid}/some-slug/": f"/r/{pid}/",
    }
    for url, location in expected.items():
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (301, location), url
    # The kept page names the duplicate and maps its passages (JavaScript follows the map).
    page = client.get(f"/r/{kid}/", {"merged": pid})
    assert page.context["merged"]["passages"] == [(1, 2), (2, 3)]
    passage_map = "{&quot;p1&quot;: &quot;p2&quot;, &quot;p2&quot;: &quot;p3&quot;}"
    assert f'data-passage-map="{passage_map}"' in page.text
    # A merged duplicate is out of the listings, the sitemap and the facets.
    listed = client.get(reverse("statements:release-list")).context["object_list"]
    assert duplicate.pk not in [r.pk for r in listed]
    assert f"/r/{pid}/" not in client.get("/sitemap-releases.xml").content.decode()


def test_merges_follow_chains_and_refuse_what_makes_no_sense(
    client, pair, django_capture_on_commit_callbacks
):
    kept, duplicate = pair
    with django_capture_on_commit_callbacks(execute=True):
        third = make_release(body=BODY)
        merging.merge(duplicate, kept)
        merging.merge(kept, third)
    response = client.get(f"/r/{duplicate.public_id}/p/2/")
    third_number = Release.objects.get(pk=kept.pk).merged_positions["3"]
    assert response["Location"] == f"/r/{third.public_id}/#p{third_number}"
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        merging.merge(third, third)
    with pytest.raises(ValidationError):
        merging.merge(make_release(), duplicate)  # into a merged release


def test_a_position_whose_passage_is_not_in_the_kept_text_is_reported(
    django_capture_on_commit_callbacks,
):
    kept = make_release(body="نص آخر تمامًا.")
    duplicate = make_release(body=BODY)
    make_position(duplicate, quote="أكدت المنظمة دعمها")
    assert merging.merge(duplicate, kept) == [1]
    assert Release.objects.get(pk=duplicate.pk).merged_positions == {}


def test_withdrawn_permalinks_answer_410_in_every_form(client, pair):
    kept, _ = pair
    kept.status, kept.withdrawal_reason = Release.Status.WITHDRAWN, "نُشر خطأً"
    kept.save()
    for name, url in forms_of(kept).items():
        response = client.get(url, follow=True)
        if name == "citation":
            assert response.status_code == 200  # the citation data stays available
        elif name == "changes":
            assert response.status_code == 200
        else:
            assert response.status_code == 410, name


def test_a_draft_is_not_found_in_any_form(client):
    draft = make_release(status=Release.Status.DRAFT)
    for url in forms_of(draft).values():
        assert client.get(url).status_code == 404, url


def test_the_admin_merge_action(client, pair, django_capture_on_commit_callbacks):
    kept, duplicate = pair
    publisher = make_user("publishers")
    client.force_login(publisher)
    changelist = admin_url(Release, "changelist")
    ask = client.post(
        changelist, {"action": "merge_duplicates", "_selected_action": [duplicate.pk]}
    )
    assert ask.status_code == 200 and "kept" in ask.context["form"].fields
    wrong = client.post(
        changelist,
        {"action": "merge_duplicates", "_selected_action": [duplicate.pk], "kept": "999999"},
    )
    assert wrong.status_code == 200 and wrong.context["form"].errors
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            changelist,
            {
                "action": "merge_duplicates",
                "_selected_action": [duplicate.pk],
                "kept": str(kept.public_id),
            },
            follow=True,
        )
    assert done.status_code == 200
    assert Release.objects.get(pk=duplicate.pk).merged_into_id == kept.pk
    # Editors cannot merge.
    client.force_login(make_user("editors"))
    other = make_release(status=Release.Status.DRAFT)
    client.post(changelist, {"action": "merge_duplicates", "_selected_action": [other.pk],
                             "kept": str(kept.public_id)})  # fmt: skip
    assert Release.objects.get(pk=other.pk).status == Release.Status.DRAFT


def test_a_pinned_citation_of_seed_000_survives_correction_renaming_and_a_merge(
    client, django_capture_on_commit_callbacks
):
    """The issue's "done when": cite a position of seed 000 pinned to its version; the link
    shows the same passage after the text is corrected, the release renamed and a duplicate
    merged into it."""
    from statements.demo import load_demo

    with django_capture_on_commit_callbacks(execute=True):
        seed = load_demo()[0]
    page = client.get(seed.get_absolute_url())
    cited = next(p for p in page.context["positions"] if p.number == 2).citation
    pinned = cited.url.removeprefix("http://testserver")
    assert pinned == f"/r/{seed.public_id}/v/1/#p2"
    quote, stance = seed.positions.values_list("quote", "stance").get(number=2)
    old_pretty = f"/r/{seed.public_id}/{slugify(seed.display_title, allow_unicode=True)}/"

    def passage_shown(url):
        response = client.get(url.split("#")[0])
        assert response.status_code == 200
        shown = next(p for p in response.context["positions"] if p.number == 2)
        return shown.quote, response.context["version"].short_hash

    before = passage_shown(pinned)
    with django_capture_on_commit_callbacks(execute=True):
        seed.body = seed.body + "\nتصحيح: أضيفت هذه الجملة."
        seed.save()
    with django_capture_on_commit_callbacks(execute=True):
        seed.title = "عنوان جديد للبيان"
        seed.save()
    with django_capture_on_commit_callbacks(execute=True):
        duplicate = make_release(body=seed.body, source=seed.source)
        make_position(duplicate, quote=quote, stance=stance)  # the same position, recorded twice
        merging.merge(duplicate, seed)
    # Published, corrected, renamed; the merge added nothing new to the kept release.
    assert seed.versions.count() == 3
    assert passage_shown(pinned) == before == (quote, cited.short_hash)
    assert client.get(old_pretty)["Location"] == f"/r/{seed.public_id}/"
    assert client.get(f"/r/{duplicate.public_id}/p/1/")["Location"] == (f"/r/{seed.public_id}/#p2")
