"""Citations of a release or of one position, as ../shared/docs/citation.md defines them.

One :class:`Citation` gathers the fields (title or bracketed description, the
CSTO body, source and relays, dates at their precision, archive, permalink
pinned to a version, content hash, access date); the formats are functions of
it: the Arabic and English sentences, BibTeX, RIS, CSL-JSON, JSON-LD and the
``citation_*`` meta tags. A date is never more precise than it is known.
"""

import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join

from .dates import MONTHS_EN, format_partial_date, iso_partial_date
from .models import DatePrecision

ARABIC_RUN = re.compile(r"[\u0600-\u06FF](?:[\u0600-\u06FF\s]*[\u0600-\u06FF])?")


@dataclass
class Citation:
    public_id: int
    titles: dict  # language -> title (or bracketed description)
    has_title: bool
    body_names: dict  # language -> the CSTO body, "" when not stated
    sources: dict  # language -> source name
    relays: dict  # language -> [relay names]
    published_on: object
    precision: str
    inferred: bool
    url: str  # the version-pinned permalink (and #p<n> for a position)
    permalink: str  # the release's permalink, unversioned
    version: int | None
    short_hash: str
    accessed: object
    position: object = None  # the cited position, if one
    quote: str = ""
    original_url: str = ""  # the outlet's own page, when known

    @property
    def key(self):
        parts = [f"csto{self.public_id}"]
        if self.version:
            parts.append(f"v{self.version}")
        if self.position is not None:
            parts.append(f"p{self.position.number}")
        return "-".join(parts)

    def date(self, language):
        return format_partial_date(self.published_on, self.precision, self.inferred, language)

    def date_parts(self):
        """[year], [year, month] or [year, month, day] at the known precision; [] if unknown."""
        if self.published_on is None or self.precision == DatePrecision.UNKNOWN:
            return []
        value = self.published_on
        return {
            DatePrecision.YEAR: [value.year],
            DatePrecision.MONTH: [value.year, value.month],
            DatePrecision.DAY: [value.year, value.month, value.day],
        }[self.precision]

    def source_line(self, language):
        relays = self.relays[language]
        if not relays:
            return self.sources[language]
        if language == "ar":
            return f"{self.sources['ar']} (نقلًا عن {'، '.join(relays)})"
        return f"{self.sources['en']} (via {', '.join(relays)})"

    @property
    def source_line_ar(self):
        return self.source_line("ar")

    @property
    def date_ar(self):
        return self.date("ar")

    @property
    def download_query(self):
        """The query string of this citation's download links (version, position)."""
        params = []
        if self.version:
            params.append(f"v={self.version}")
        if self.position is not None:
            params.append(f"p={self.position.number}")
        return "?" + "&".join(params) if params else ""

    @property
    def text_ar(self):
        return self.text("ar")

    @property
    def text_en(self):
        return self.text("en")

    @property
    def fragment_url(self):
        """A text-fragment link to the passage on the outlet's own page, when its URL is known."""
        if self.position is None or not self.original_url:
            return ""
        return text_fragment(self.original_url, self.quote)

    def text(self, language):
        """The formatted citation, in Arabic or English, as plain text (what is copied)."""
        return self._compose(language, lambda value, lang, direction: value)

    def html(self, language):
        """The same citation for display: its pieces in the other script isolated (<bdi>),
        so a URL keeps its order inside Arabic and an Arabic title inside English."""

        def isolate(value, lang, direction):
            if lang == "en" and ARABIC_RUN.search(value):
                # An English description around an Arabic dateline: isolate the Arabic too.
                pieces = ARABIC_RUN.split(value)
                runs = ARABIC_RUN.findall(value)
                value = format_html_join(
                    "",
                    "{}{}",
                    (
                        (text, format_html('<bdi lang="ar">{}</bdi>', run) if run else "")
                        for text, run in zip(pieces, [*runs, ""], strict=True)
                    ),
                )
            return format_html('<bdi lang="{}" dir="{}">{}</bdi>', lang, direction, value)

        return self._compose(language, isolate, join=format_html)

    @property
    def html_ar(self):
        return self.html("ar")

    @property
    def html_en(self):
        return self.html("en")

    def _compose(self, language, wrap, join=None):
        accessed = format_partial_date(self.accessed, DatePrecision.DAY, language=language)
        url = wrap(self.url, "en", "ltr")
        digest = wrap(self.short_hash, "en", "ltr")
        title_lang = "ar" if self.has_title or language == "ar" else "en"
        title = wrap(self.titles[language], title_lang, "rtl" if title_lang == "ar" else "ltr")
        if language == "ar":
            template = (
                "{source}، «{title}»، {date}. {archive}، {url} (بصمة النص {digest})، "
                "تاريخ الاطلاع {accessed}."
            )
            archive = settings.ARCHIVE_NAME_AR
        else:
            template = (
                '{source}, "{title}", {date}. {archive}, {url} (text sha256 {digest}), '
                "accessed {accessed}."
            )
            archive = settings.ARCHIVE_NAME_EN
        pieces = {
            "source": self.source_line(language),
            "title": title,
            "date": self.date(language),
            "archive": archive,
            "url": url,
            "digest": digest,
            "accessed": accessed,
        }
        if join is None:
            return template.format(**pieces)
        return join(template, **pieces)


def cite(release, version, base_url, position=None):
    """The citation of ``release`` (a saved or rebuilt record) as of ``version``
    (a ReleaseVersion, or None before any is recorded), or of one of its positions."""
    from .versions import fingerprint

    if hasattr(release, "relay_list"):
        relays = release.relay_list  # a version's relays, as it showed them
    else:
        relays = list(release.relayed_from.all())
    titles, body_names, sources, relay_names = {}, {}, {}, {}
    for language in ("ar", "en"):
        with translation.override(language):
            titles[language] = release.display_title
            stated = release.issuing_body not in (
                release.IssuingBody.UNKNOWN,
                release.IssuingBody.OTHER,
            )
            body_names[language] = str(release.get_issuing_body_display()) if stated else ""
            sources[language] = release.source.display_name
            relay_names[language] = [r.display_name for r in relays]
    permalink = base_url + release.get_absolute_url()
    url = base_url + version.get_absolute_url() if version else permalink
    if position is not None:
        url += f"#p{position.number}"
    return Citation(
        public_id=release.public_id,
        titles=titles,
        has_title=release.has_title,
        body_names=body_names,
        sources=sources,
        relays=relay_names,
        published_on=release.published_on,
        precision=release.published_precision,
        inferred=release.published_inferred,
        url=url,
        permalink=permalink,
        version=version.number if version else None,
        short_hash=version.short_hash if version else fingerprint(release.body),
        accessed=timezone.localdate(),
        position=position,
        quote=position.quote if position is not None else "",
        original_url=release.url,
    )


def text_fragment(url, quote, words=4):
    """``url#:~:text=start,end``: a few words from each end of the quote, percent-encoded,
    so a browser that supports text fragments scrolls to the passage."""
    parts = quote.split()
    if not parts:
        return url
    base = url.split("#", 1)[0]
    if len(parts) <= 2 * words:
        directive = _fragment_quote(" ".join(parts))
    else:
        start, end = " ".join(parts[:words]), " ".join(parts[-words:])
        directive = f"{_fragment_quote(start)},{_fragment_quote(end)}"
    return f"{base}#:~:text={directive}"


def _fragment_quote(text):
    from urllib.parse import quote

    # "-", "," and "&" have a meaning in a text directive: always escaped.
    return quote(text, safe="").replace("-", "%2D")


def base_url(request):
    """Where permalinks live: CSTO_SITE_URL, or the host the reader asked."""
    return settings.SITE_URL or f"{request.scheme}://{request.get_host()}"


# BibTeX ------------------------------------------------------------------

_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def bibtex_escape(text):
    return "".join(_BIBTEX_SPECIAL.get(char, char) for char in text)


def bibtex(citation):
    """A biblatex @online entry; Arabic stays UTF-8; the date at its precision."""
    parts = citation.date_parts()
    fields = [
        ("title", citation.titles["ar"]),
        ("organization", citation.source_line("en")),
        ("date", iso_partial_date(citation.published_on, citation.precision)),
    ]
    if parts:
        fields.append(("year", str(parts[0])))
    if len(parts) >= 2:
        fields.append(("month", MONTHS_EN[parts[1] - 1][:3].lower()))
    fields += [
        ("url", citation.url),
        ("urldate", citation.accessed.isoformat()),
        ("langid", "arabic"),
        ("note", _note(citation)),
    ]
    if citation.version:
        fields.append(("version", str(citation.version)))
    lines = [f"@online{{{citation.key},"]
    for name, value in fields:
        if not value:
            continue
        if name == "month":
            lines.append(f"  {name} = {value},")
        elif name == "url":
            lines.append(f"  {name} = {{{value}}},")
        else:
            lines.append(f"  {name} = {{{bibtex_escape(value)}}},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _note(citation, language="en"):
    pieces = [settings.ARCHIVE_NAME_EN if language == "en" else settings.ARCHIVE_NAME_AR]
    if citation.body_names[language]:
        pieces.append(citation.body_names[language])
    if not citation.has_title:
        pieces.append("title supplied by the archive")
    if citation.inferred:
        pieces.append("date inferred")
    if citation.position is not None:
        pieces.append(f"passage p{citation.position.number}: {citation.quote}")
    pieces.append(f"text sha256 {citation.short_hash}")
    return "; ".join(pieces)


# RIS ---------------------------------------------------------------------


def ris(citation):
    parts = citation.date_parts()
    lines = [
        ("TY", "NEWS"),
        ("TI", citation.titles["ar"]),
        ("PB", citation.sources["en"]),
        ("T2", citation.sources["ar"]),
    ]
    lines += [("A2", name) for name in citation.relays["en"]]
    if parts:
        lines.append(("PY", f"{parts[0]:04d}"))
        lines.append(("DA", "/".join(f"{p:02d}" if i else f"{p:04d}" for i, p in enumerate(parts))))
    lines += [
        ("UR", citation.url),
        ("Y2", citation.accessed.strftime("%Y/%m/%d")),
        ("LA", "ar"),
        ("DB", settings.ARCHIVE_NAME_EN),
        ("N1", _note(citation)),
    ]
    if citation.version:
        lines.append(("ET", str(citation.version)))
    body = "".join(f"{tag}  - {' '.join(value.split())}\r\n" for tag, value in lines if value)
    return body + "ER  - \r\n"


# CSL-JSON ----------------------------------------------------------------


def csl(citation):
    """One CSL-JSON item (``issued`` with 1, 2 or 3 date-parts: how CSL says "year only")."""
    item = {
        "id": citation.key,
        "type": "article-newspaper",
        "title": citation.titles["ar"],
        "container-title": citation.sources["ar"],
        "publisher": citation.source_line("en"),
        "archive": settings.ARCHIVE_NAME_EN,
        "URL": citation.url,
        "accessed": {
            "date-parts": [[citation.accessed.year, citation.accessed.month, citation.accessed.day]]
        },
        "language": "ar",
        "note": _note(citation),
    }
    parts = citation.date_parts()
    if parts:
        item["issued"] = {"date-parts": [parts]}
    if citation.version:
        item["version"] = str(citation.version)
    if citation.body_names["en"]:
        item["authority"] = citation.body_names["en"]
    return item


# Page metadata -----------------------------------------------------------


def meta_tags(citation):
    """(name, content) pairs for the citation_* meta tags Zotero and Google Scholar read."""
    parts = citation.date_parts()
    tags = [
        ("citation_title", citation.titles["ar"]),
        ("citation_publisher", citation.sources["ar"]),
        ("citation_language", "ar"),
        ("citation_public_url", citation.permalink),
        ("citation_technical_report_institution", settings.ARCHIVE_NAME_EN),
    ]
    if parts:
        tags.append(("citation_publication_date", "/".join(f"{p:02d}" for p in parts)))
    if citation.body_names["en"]:
        tags.append(("citation_author", citation.body_names["en"]))
    return tags


def json_ld(citation, release, positions):
    """schema.org: the release as a NewsArticle, its positions as Quotations."""

    def organization(name):
        return {"@type": "Organization", "name": name}

    article = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": citation.titles["ar"],
        "inLanguage": "ar",
        "url": citation.permalink,
        "publisher": organization(citation.sources["ar"]),
        "isPartOf": {"@type": "Collection", "name": settings.ARCHIVE_NAME_EN},
    }
    iso = iso_partial_date(citation.published_on, citation.precision)
    if iso:
        article["datePublished"] = iso
    if citation.relays["ar"]:
        article["isBasedOn"] = [organization(name) for name in citation.relays["ar"]]
    if citation.body_names["en"]:
        article["author"] = organization(citation.body_names["en"])
    if citation.version:
        article["version"] = str(citation.version)
    article["hasPart"] = [
        {
            "@type": "Quotation",
            "text": position.quote,
            "url": f"{citation.permalink}#p{position.number}",
            "inLanguage": "ar",
            **(
                {"creator": organization(citation.body_names["en"])}
                if citation.body_names["en"]
                else {}
            ),
        }
        for position in positions
    ]
    # Safe inside <script>: no "</" can close the element early.
    return json.dumps(article, ensure_ascii=False).replace("</", "<\\/")
