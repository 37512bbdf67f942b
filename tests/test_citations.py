"""Citations: the Arabic and English sentences of citation.md, BibTeX, RIS and CSL-JSON
that parse, page metadata (citation_* tags, JSON-LD, Open Graph), text-fragment links."""

import datetime
import json
import re
from html import unescape

import bibtexparser
import jsonschema
import pytest
from django.urls import reverse
from django.utils import timezone

from statements.citation import text_fragment
from statements.dates import format_partial_date
from statements.models import DatePrecision, Release
from tests.csl_schema import SCHEMA
from tests.factories import make_position, make_release

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeds(django_capture_on_commit_callbacks):
    """The demo archive, with its first versions recorded (as `load_demo` does on commit)."""
    from statements.demo import load_demo

    with django_capture_on_commit_callbacks(execute=True):
        releases = load_demo()
    return {"000": releases[0], "004": releases[1]}


def download(client, release, fmt, **params):
    url = reverse("statements:release-citation", args=[release.public_id, fmt])
    return client.get(url, params)


def today(language):
    return format_partial_date(timezone.localdate(), DatePrecision.DAY, language=language)


def test_seed_000_position_citation_in_both_languages(client, seeds):
    release = seeds["000"]
    response = client.get(release.get_absolute_url())
    cited = next(p for p in response.context["positions"] if p.number == 2).citation
    digest = release.body_sha256[:12]
    url = f"http://testserver/r/{release.public_id}/v/1/#p2"
    # The English interface names the source as the archive records it in English; the
    # dateline is the source's own (Arabic) word, inside the archive's bracketed description.
    assert cited.text_en == (
        'SANA (Syrian Arab News Agency) (via Sputnik), "[Statement of the CSTO Collective '
        'Security Council, أستانا]", '
        f"[8 November 2018]. CSTO Statements Archive, {url} (text sha256 {digest}), "
        f"accessed {today('en')}."
    )
    assert cited.text_ar == (
        "سانا (نقلًا عن سبوتنيك)، «[بيان مجلس الأمن الجماعي لمنظمة معاهدة الأمن الجماعي، "
        "أستانا]»، [8 نوفمبر 2018]. أرشيف بيانات منظمة معاهدة الأمن الجماعي، "
        f"{url} (بصمة النص {digest})، تاريخ الاطلاع {today('ar')}."
    )
    # Both are on the page (what a reader copies is the text), each with its copy button.
    for language, text in (("en", cited.text_en), ("ar", cited.text_ar)):
        shown = re.search(rf'id="cite-{language}-2">(.*?)</p>', response.text).group(1)
        assert unescape(re.sub(r"<[^>]+>", "", shown)) == text
    assert 'data-copy="cite-ar-2"' in response.text


def test_a_release_known_to_its_year_is_cited_to_its_year(client, seeds):
    release = seeds["004"]
    page = client.get(release.get_absolute_url())
    cited = page.context["citation"]
    assert "[2020]" in cited.text_en and "1 January" not in cited.text_en
    assert "[2020]" in cited.text_ar
    # CSL-JSON: one date-part, valid against the schema.
    items = json.loads(download(client, release, "json").content)
    jsonschema.validate(items, SCHEMA)
    assert items[0]["issued"] == {"date-parts": [[2020]]}
    assert items[0]["type"] == "article-newspaper" and items[0]["language"] == "ar"
    # RIS: the year, no invented month or day.
    ris = download(client, release, "ris").content.decode()
    tags = parse_ris(ris)
    assert tags["TY"] == ["NEWS"] and tags["PY"] == ["2020"] and tags["DA"] == ["2020"]
    # BibTeX: a date of 2020, no month.
    entry = parse_bibtex(download(client, release, "bib").content.decode())
    assert entry.fields_dict["date"].value == "2020"
    assert "month" not in entry.fields_dict
    # Page metadata.
    assert '<meta name="citation_publication_date" content="2020">' in page.text
    assert jsonld(page)["datePublished"] == "2020"


def test_downloads_of_a_position_and_a_day(client, seeds):
    release = seeds["000"]
    response = download(client, release, "bib", p=2)
    assert response["Content-Type"].startswith("application/x-bibtex")
    assert f'filename="csto{release.public_id}-v1-p2.bib"' in response["Content-Disposition"]
    entry = parse_bibtex(response.content.decode())
    assert entry.key == f"csto{release.public_id}-v1-p2"
    assert entry.fields_dict["url"].value.endswith(f"/r/{release.public_id}/v/1/#p2")
    assert entry.fields_dict["date"].value == "2018-11-08"
    assert entry.fields_dict["month"].value == "nov"
    assert entry.fields_dict["urldate"].value == timezone.localdate().isoformat()
    quote = release.positions.get(number=2).quote
    assert entry.fields_dict["note"].value.endswith(
        f"passage p2: {quote}; text sha256 {release.body_sha256[:12]}"
    )
    items = json.loads(download(client, release, "json", p=2).content)
    jsonschema.validate(items, SCHEMA)
    assert items[0]["issued"] == {"date-parts": [[2018, 11, 8]]}
    tags = parse_ris(download(client, release, "ris", p=2).content.decode())
    assert tags["DA"] == ["2018/11/08"] and tags["A2"] == ["Sputnik"]


@pytest.mark.parametrize(
    "params", [{"p": "999"}, {"v": "7"}, {"p": "abc"}, {"v": "-1"}, {"p": "1e3"}]
)
def test_downloads_of_what_does_not_exist_are_not_found(client, seeds, params):
    assert download(client, seeds["000"], "ris", **params).status_code == 404


def test_a_draft_has_no_citation_and_a_withdrawn_release_keeps_it(client, seeds):
    draft = make_release(status=Release.Status.DRAFT)
    assert download(client, draft, "bib").status_code == 404
    release = seeds["000"]
    release.status, release.withdrawal_reason = Release.Status.WITHDRAWN, "نُشر خطأً"
    release.save()
    gone = client.get(release.get_absolute_url())
    assert gone.status_code == 410 and "(via Sputnik)" in unescape(gone.text)
    assert download(client, release, "ris").status_code == 200


def test_a_pinned_citation_keeps_the_old_title(client, seeds, django_capture_on_commit_callbacks):
    release = seeds["004"]
    with django_capture_on_commit_callbacks(execute=True):
        release.title = "عنوان مصحح"
        release.save()
    old = parse_bibtex(download(client, release, "bib", v=1).content.decode())
    new = parse_bibtex(download(client, release, "bib").content.decode())
    assert old.fields_dict["title"].value.startswith("[")  # the archive's description
    assert new.fields_dict["title"].value == "عنوان مصحح"
    assert "/v/2/" in new.fields_dict["url"].value
    pinned = client.get(reverse("statements:release-version", args=[release.public_id, 1]))
    assert "/v/1/" in pinned.context["citation"].url


def test_bibtex_escapes_what_latex_would_read(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        release = make_release(title="بيان {خاص} 50% & #1 $x_y", published_on=None)
    text = download(client, release, "bib").content.decode()
    assert r"\{خاص\} 50\% \& \#1 \$x\_y" in text
    entry = parse_bibtex(text)
    assert "date" not in entry.fields_dict  # an unknown date is left out
    items = json.loads(download(client, release, "json").content)
    jsonschema.validate(items, SCHEMA)
    assert "issued" not in items[0]


def test_page_metadata(client, seeds):
    release = seeds["000"]
    page = client.get(release.get_absolute_url())
    meta = dict(re.findall(r'<meta name="(citation_[a-z_]+)" content="([^"]*)">', page.text))
    assert meta["citation_publication_date"] == "2018/11/08"
    assert meta["citation_language"] == "ar"
    assert meta["citation_publisher"] == "سانا"
    assert meta["citation_public_url"] == f"http://testserver/r/{release.public_id}/"
    assert f'<link rel="canonical" href="http://testserver/r/{release.public_id}/">' in page.text
    assert '<meta property="og:type" content="article">' in page.text
    data = jsonld(page)
    assert data["@type"] == "NewsArticle" and data["inLanguage"] == "ar"
    assert data["isBasedOn"] == [{"@type": "Organization", "name": "سبوتنيك"}]
    quotations = data["hasPart"]
    assert len(quotations) == release.positions.count()
    assert {q["@type"] for q in quotations} == {"Quotation"}
    first = release.positions.get(number=1)
    assert sorted(q["text"] for q in quotations) == sorted(
        release.positions.values_list("quote", flat=True)
    )
    assert f"{data['url']}#p{first.number}" in {q["url"] for q in quotations}


def test_text_fragment_links_into_the_original():
    quote = "أكدت المنظمة دعمها الكامل لسيادة الدول ووحدة أراضيها وعدم التدخل في شؤونها"
    link = text_fragment("https://sana.sy/?p=123#top", quote)
    start, end = link.split("#:~:text=")[1].split(",")
    assert link.startswith("https://sana.sy/?p=123#:~:text=")
    from urllib.parse import unquote

    assert unquote(start) == "أكدت المنظمة دعمها الكامل"
    assert unquote(end) == "وعدم التدخل في شؤونها"
    assert text_fragment("https://x.org/a", "كلمة-واحدة") == "https://x.org/a#:~:text=" + (
        "%D9%83%D9%84%D9%85%D8%A9%2D%D9%88%D8%A7%D8%AD%D8%AF%D8%A9"
    )


def test_a_position_offers_its_passage_on_the_outlet_page(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        release = make_release(url="https://example.org/news/1", published_on=None)
        make_position(release)
    page = client.get(release.get_absolute_url())
    assert "https://example.org/news/1#:~:text=" in page.text


def jsonld(page):
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page.text, re.S)
    return json.loads(found.group(1))


def parse_bibtex(text):
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks, library.failed_blocks
    (entry,) = library.entries
    return entry


def parse_ris(text):
    lines = text.split("\r\n")
    assert lines[0].startswith("TY  - ") and lines[-2] == "ER  - " and lines[-1] == ""
    tags = {}
    for line in lines[:-2]:
        match = re.fullmatch(r"([A-Z][A-Z0-9])  - (.*)", line)
        assert match, line
        tags.setdefault(match.group(1), []).append(match.group(2))
    return tags


def test_dates_at_each_precision_in_every_format(client, django_capture_on_commit_callbacks):
    cases = {
        DatePrecision.DAY: ("2019-03-05", [2019, 3, 5], "2019/03/05"),
        DatePrecision.MONTH: ("2019-03", [2019, 3], "2019/03"),
        DatePrecision.YEAR: ("2019", [2019], "2019"),
    }
    for precision, (iso, parts, ris_date) in cases.items():
        first = datetime.date(2019, 3, 5 if precision == DatePrecision.DAY else 1)
        if precision == DatePrecision.YEAR:
            first = datetime.date(2019, 1, 1)
        with django_capture_on_commit_callbacks(execute=True):
            release = make_release(published_on=first, published_precision=precision)
        entry = parse_bibtex(download(client, release, "bib").content.decode())
        assert entry.fields_dict["date"].value == iso
        items = json.loads(download(client, release, "json").content)
        assert items[0]["issued"]["date-parts"] == [parts]
        assert parse_ris(download(client, release, "ris").content.decode())["DA"] == [ris_date]
