"""The admin's import page: the command's importer, for a pasted text or an uploaded file."""

import datetime
import json
import re

import pytest
from django.contrib import messages
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse

from statements.admin_import import MAX_IMPORT_BYTES
from statements.demo import DEMO_DIR
from statements.models import Release, Source
from tests.factories import admin_url, make_source, make_user

pytestmark = pytest.mark.django_db

SEED = (DEMO_DIR / "000_559f88af96851eb0.txt").read_text(encoding="utf-8")
SEED_BODY = SEED.partition("\n")[2].strip()
BODY = "أعربت بلدان منظمة معاهدة الأمن الجماعي عن تأييدها لجهود التسوية.\nوأكدت دعمها."


@pytest.fixture
def sana(db):
    return make_source(name="سانا", name_en="SANA", slug="sana")


@pytest.fixture
def desk(editor_client):
    """An editor with the English interface, to match on message text (the desk is Arabic)."""
    editor_client.cookies["django_language"] = "en"
    return editor_client


def import_url():
    return reverse("admin:statements_release_import")


def release_page(release):
    """Where a new draft opens: its annotation page, or its change page where there is none."""
    try:
        return reverse("admin:statements_release_annotate", args=[release.pk])
    except NoReverseMatch:
        return admin_url(Release, "change", release.pk)


def paste(client, text, follow=False, **fields):
    # Browsers send a textarea's line breaks as CRLF.
    return client.post(import_url(), {"text": text.replace("\n", "\r\n"), **fields}, follow=follow)


def upload(client, name, content, follow=False, **fields):
    if isinstance(content, str):
        content = content.encode("utf-8")
    return client.post(
        import_url(), {"file": SimpleUploadedFile(name, content), **fields}, follow=follow
    )


def shown(response):
    return [str(m) for m in response.context["messages"]]


def form_errors(response):
    return response.context["form"].errors


class TestPaste:
    def test_seed_becomes_a_draft_with_its_dateline_and_source_from_the_first_line(
        self, desk, sana
    ):
        response = paste(desk, SEED, published="2018-11-08", inferred="on")
        release = Release.objects.get()
        assert response.status_code == 302
        assert response.url == release_page(release)
        assert release.status == Release.Status.DRAFT
        assert release.dateline == "أستانا"
        assert release.source == sana
        assert release.body == SEED_BODY
        assert release.published_on == datetime.date(2018, 11, 8)
        assert release.published_precision == "day"
        assert release.published_inferred

        notes = shown(desk.get(response.url))
        assert any(n.startswith("Imported as a draft: release ") for n in notes)
        assert "First line read as a dateline: place “أستانا”, agency “سانا”." in notes
        assert "Source: سانا, found from the agency “سانا” in the dateline." in notes
        # The browser's CRLF is not the editor's text: nothing to report.
        assert not [n for n in notes if n.startswith("Sanitation")]

    def test_what_sanitation_removed_and_kept_is_shown(self, desk, sana):
        text = "أستانا-سانا\nبيان\u202e المنظمة\x00 الجديد\u200f"
        response = paste(desk, text, follow=True)
        release = Release.objects.get()
        assert release.body == "بيان المنظمة الجديد\u200f"
        notes = shown(response)
        assert "Sanitation: removed 1 × U+202E RLO" in notes
        assert "Sanitation: removed 1 × U+0000 NUL" in notes
        assert "Sanitation: kept 1 × U+200F RLM (invisible; check it is meant)" in notes

    def test_sanitation_is_reported_in_arabic_on_the_arabic_desk(self, editor_client, sana):
        response = paste(editor_client, "أستانا-سانا\nبيان\u202e المنظمة", follow=True)
        assert Release.objects.get().body == "بيان المنظمة"
        assert "تنقية النص: حُذف U+202E RLO (1 مرة)" in shown(response)

    def test_a_chosen_source_and_a_text_without_header(self, desk):
        source = make_source(name="سبوتنيك")
        response = paste(desk, BODY, follow=True, source=source.pk, published="٢٠١٨-١١")
        release = Release.objects.get()
        assert (release.source, release.dateline, release.section_label) == (source, "", "")
        assert release.body == BODY
        assert release.published_on == datetime.date(2018, 11, 1)
        assert release.published_precision == "month"
        assert not release.published_inferred
        notes = shown(response)
        assert (
            "No dateline or section label found in the first line: the whole text is the body."
            in notes
        )
        assert "Source: سبوتنيك (as chosen)." in notes

    def test_a_section_label_is_read(self, desk, sana):
        response = paste(desk, f"متابعات: {BODY}", follow=True, source=sana.pk)
        release = Release.objects.get()
        assert release.section_label == "متابعات"
        assert release.body == BODY
        assert "First line read as a section label: “متابعات”." in shown(response)

    def test_a_text_already_in_the_archive_is_not_imported_again(self, desk, sana):
        paste(desk, SEED)
        existing = Release.objects.get()
        existing.title = "بيان قمة أستانا"
        existing.save()

        response = paste(desk, SEED, follow=True, source=make_source().pk)
        assert Release.objects.count() == 1
        assert response.redirect_chain == [(import_url(), 302)]
        notes = shown(response)
        assert any("already in the archive" in n for n in notes)
        label = f"release {existing.public_id}, “بيان قمة أستانا”"
        link = f'<a href="{release_page(existing)}">{label}</a>'
        assert link in response.text

    def test_unknown_agency_without_a_source_is_a_form_error(self, desk):
        response = paste(desk, "أستانا-وكالة مجهولة\n" + BODY)
        assert response.status_code == 200
        assert Release.objects.count() == 0
        [error] = form_errors(response)["source"]
        assert "“وكالة مجهولة”, which is not a known source" in error
        # The text stays in the form, to choose the source and import it.
        assert "وكالة مجهولة" in response.context["form"]["text"].value()

        source = make_source(name="وكالة أخرى")
        paste(desk, "أستانا-وكالة مجهولة\n" + BODY, source=source.pk)
        assert Release.objects.get().source == source

    def test_no_agency_and_no_source_is_a_form_error(self, desk):
        response = paste(desk, BODY)
        assert response.status_code == 200
        assert Release.objects.count() == 0
        assert form_errors(response)["source"] == [
            "The first line names no agency: choose the source of the text."
        ]

    @pytest.mark.parametrize(
        "fields, error",
        [
            ({"text": "   "}, "Paste a text or choose a file to import."),
            ({}, "Paste a text or choose a file to import."),
            (
                {"text": BODY, "file": SimpleUploadedFile("a.txt", BODY.encode())},
                "Paste a text or choose a file, not both.",
            ),
        ],
    )
    def test_nothing_or_both_to_import(self, desk, sana, fields, error):
        response = desk.post(import_url(), {"source": sana.pk, **fields})
        assert response.status_code == 200
        assert form_errors(response)["__all__"] == [error]
        assert Release.objects.count() == 0

    @pytest.mark.parametrize("date", ["2018-13", "8/11/2018", "18"])
    def test_a_bad_date_is_a_form_error(self, desk, sana, date):
        response = paste(desk, SEED, published=date)
        assert response.status_code == 200
        assert "Give a real date as 2018" in form_errors(response)["published"][0]
        assert Release.objects.count() == 0

    def test_inferred_needs_a_date(self, desk, sana):
        response = paste(desk, SEED, inferred="on")
        assert form_errors(response)["inferred"] == ["Give the date that was worked out."]
        assert Release.objects.count() == 0


class TestUpload:
    def test_txt_file(self, desk, sana):
        response = upload(desk, "bayan.txt", SEED.replace("\n", "\r\n"), published="2018")
        release = Release.objects.get()
        assert response.url == release_page(release)
        assert (release.dateline, release.source, release.body) == ("أستانا", sana, SEED_BODY)
        assert (release.published_on, release.published_precision) == (
            datetime.date(2018, 1, 1),
            "year",
        )
        # In a file, CRLF is the file's own: reported, as by the command.
        crlf = SEED.count("\n")
        assert f"Sanitation: normalized {crlf} line ending(s) to LF" in shown(
            desk.get(response.url)
        )

    def test_jsonl_one_good_record_and_one_bad(self, desk, sana):
        records = [
            {"body": "بيان\u202e المنظمة الأول", "source": "سانا", "published": "2020"},
            {"body": "بيان ثان", "source": "سانا", "published": "2020-13"},
        ]
        content = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
        response = upload(desk, "batch.jsonl", content)
        assert response.status_code == 200
        release = Release.objects.get()
        assert (release.body, release.source, release.status) == (
            "بيان المنظمة الأول",
            sana,
            Release.Status.DRAFT,
        )
        good, bad = response.context["results"]
        assert (good.where, good.action, good.release) == ("batch.jsonl:1", "created", release)
        assert (bad.where, bad.action, bad.release) == ("batch.jsonl:2", "error", None)
        assert "published '2020-13' is not a real date" in bad.message
        assert (messages.WARNING, "Sanitation: removed 1 × U+202E RLO") in good.notes
        assert f'<a href="{release_page(release)}">{release.public_id} ' in response.text
        assert "published &#x27;2020-13&#x27; is not a real date" in response.text

    def test_jsonl_record_already_in_the_archive(self, desk, sana):
        paste(desk, SEED)
        existing = Release.objects.get()
        records = [
            {"body": SEED_BODY, "source": "سانا"},
            {"body": "بيان جديد", "source": "مصدر جديد"},
        ]
        content = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
        response = upload(desk, "batch.jsonl", content)
        first, second = response.context["results"]
        assert (first.action, first.release) == ("exists", existing)
        assert second.action == "created"
        assert second.release.source.name == "مصدر جديد"
        assert (messages.WARNING, "Importer: created source 'مصدر جديد'") in second.notes
        assert f'<a href="{release_page(existing)}">{existing.public_id} ' in response.text

    def test_the_form_source_and_date_do_not_apply_to_jsonl_records(self, desk, sana):
        content = json.dumps({"body": BODY, "source": "سبوتنيك", "published": "2020"})
        response = upload(
            desk, "batch.jsonl", content, follow=True, source=sana.pk, published="2018"
        )
        release = Release.objects.get()
        assert (release.source.name, release.published_on.year) == ("سبوتنيك", 2020)
        assert response.redirect_chain == [(release_page(release), 302)]
        assert any(
            n.startswith("The source and date of the form apply to texts") for n in shown(response)
        )

    @pytest.mark.parametrize(
        "name, content, error",
        [
            ("bayan.docx", SEED.encode(), "Only .txt and .jsonl files can be imported"),
            ("bayan", SEED.encode(), "Only .txt and .jsonl files can be imported"),
            ("bayan.txt", "أستانا-سانا\nبيان".encode("cp1256"), "not UTF-8 text"),
            ("bayan.txt", b"", "The submitted file is empty."),
            ("bayan.txt", b"x" * (MAX_IMPORT_BYTES + 1), "at most 2.0"),
        ],
    )
    def test_a_file_that_cannot_be_imported_is_a_form_error(self, desk, sana, name, content, error):
        response = upload(desk, name, content)
        assert response.status_code == 200
        assert error in form_errors(response)["file"][0]
        assert Release.objects.count() == 0

    def test_a_jsonl_file_with_no_records(self, desk):
        response = upload(desk, "batch.jsonl", "\n  \n")
        assert form_errors(response)["__all__"] == ["The file holds no records."]

    def test_a_single_bad_jsonl_record_is_a_form_error(self, desk):
        response = upload(desk, "batch.jsonl", '{"body": "نص"}')
        assert response.status_code == 200
        assert form_errors(response)["__all__"] == [
            "The text cannot be imported: source is missing or empty"
        ]
        assert Release.objects.count() == 0


class TestPage:
    def test_form_is_arabic_accessible_and_without_inline_script_or_style(self, desk):
        response = desk.get(import_url())
        assert response.status_code == 200
        html = response.text
        textarea = re.search(r"<textarea[^>]*>", html).group(0)
        assert 'dir="rtl"' in textarea and 'lang="ar"' in textarea
        assert 'class="csto-arabic"' in textarea
        assert 'aria-describedby="id_text_helptext"' in textarea
        assert '<label for="id_text">' in html and '<label for="id_file">' in html
        assert 'enctype="multipart/form-data"' in html
        assert '<input type="file" name="file" accept=".txt,.jsonl"' in html
        assert "<style" not in html and " style=" not in html
        assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))

    def test_without_add_permission_the_page_is_forbidden(self, sana):
        client = Client()
        user = make_user()
        user.user_permissions.add(Permission.objects.get(codename="view_release"))
        client.force_login(user)
        assert client.get(import_url()).status_code == 403
        assert client.post(import_url(), {"text": SEED}).status_code == 403
        assert Release.objects.count() == 0
        changelist = client.get(admin_url(Release, "changelist"))
        assert changelist.status_code == 200
        assert import_url() not in changelist.text

    def test_only_who_may_add_sources_creates_them(self, sana):
        client = Client()
        user = make_user()
        user.user_permissions.add(
            *Permission.objects.filter(codename__in=["view_release", "add_release"])
        )
        client.force_login(user)
        client.cookies["django_language"] = "en"
        records = [
            {"body": "بيان أول", "source": "سانا"},
            {"body": "بيان ثان", "source": "مصدر جديد"},
            {"body": "بيان ثالث", "source": "سانا", "relayed_from": ["مصدر آخر"]},
        ]
        content = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
        response = upload(client, "batch.jsonl", content)
        actions = [r.action for r in response.context["results"]]
        assert actions == ["created", "error", "error"]
        assert "(مصدر جديد), and you may not add sources" in response.context["results"][1].message
        assert list(Source.objects.values_list("name", flat=True)) == ["سانا"]

    def test_changelist_links_to_the_page(self, editor_client):
        response = editor_client.get(admin_url(Release, "changelist"))
        assert f'<a href="{import_url()}" class="addlink">' in response.text
