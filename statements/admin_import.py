"""Import in the admin: an editor pastes a text or uploads a file and gets a draft to annotate.

The page goes through the importer of the ``import_releases`` command
(statements.importers): the same reading of a file into records, the same
parsing and sanitation, the same natural key. A text imported here and by the
command is therefore one release, never two, and a pasted text is read exactly
as a ``.txt`` file would be. What the importer found (what sanitation changed,
how the first line was read, which source it names) is told to the editor, so
nothing is changed or guessed silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelect
from django.core import validators
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, transaction
from django.http import HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import importers, text
from .forms import RTL_TEXTAREA
from .models import Release, Source

# Large enough for any single statement and for a sizeable batch; larger
# batches belong to the command, which reports progress.
MAX_IMPORT_BYTES = 2 * 1024 * 1024
EXTENSIONS = (".txt", ".jsonl")
# A paste is read as this file would be (its name is what the result page shows).
PASTED_NAME = "pasted.txt"


@dataclass(frozen=True)
class InMemoryFile:
    """A paste or an upload, with what the importer's file reader asks of a path.

    ``importers.records`` is what splits a file into records for the command
    (UTF-8, byte-order mark, JSON Lines ending at LF only); feeding it the
    upload keeps one reader for both, instead of a copy that could drift.
    """

    name: str
    content: bytes

    @property
    def suffix(self) -> str:
        return PurePath(self.name).suffix

    def read_bytes(self) -> bytes:
        return self.content

    @property
    def is_txt(self) -> bool:
        return self.suffix.lower() == ".txt"


def read_records(upload: InMemoryFile):
    """[(where, parse)] for each record of the upload, as the command reads a file."""
    return list(importers.records(upload))


# The form ------------------------------------------------------------------


def source_field(widget=None):
    return forms.ModelChoiceField(
        label=_("Source"),
        queryset=Source.objects.all(),
        required=False,
        widget=widget,
        help_text=_(
            "For a pasted text or a .txt file. Leave it empty to take the source from the agency "
            "in the first line (أستانا-سانا: سانا). The records of a .jsonl file name their own."
        ),
    )


class ImportForm(forms.Form):
    text = forms.CharField(
        label=_("Text"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={**RTL_TEXTAREA, "rows": 18, "cols": 90}),
        help_text=_(
            "Paste the text as it was published. Its first line may be a dateline (place – "
            "agency, e.g. أستانا-سانا) or a section label (e.g. متابعات); it is recognized and "
            "kept apart from the text."
        ),
    )
    file = forms.FileField(
        label=_("Or a file"),
        required=False,
        widget=forms.FileInput(attrs={"accept": ",".join(EXTENSIONS)}),
        help_text=_(
            "A .txt file in the same format, or a .jsonl file with one release per line (the "
            "keys “body” and “source”, and optionally “title”, “url”, “published”…). UTF-8, at "
            "most 2 MB."
        ),
    )
    source = source_field()
    published = forms.CharField(
        label=_("publication date"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"dir": "ltr", "size": 12}),
        help_text=_(
            "As far as it is known: 2018, 2018-11 or 2018-11-08 (Western or Arabic-Indic "
            "digits). For a pasted text or a .txt file."
        ),
    )
    inferred = forms.BooleanField(
        label=_("publication date inferred"),
        required=False,
        help_text=_("The date is worked out (from the events, another report), not stated."),
    )

    def __init__(self, *args, admin_site=None, **kwargs):
        super().__init__(*args, **kwargs)
        # A NUL in the text is not refused here but removed, and reported, by
        # sanitation, as in a file.
        self.fields["text"].validators = [
            v
            for v in self.fields["text"].validators
            if not isinstance(v, validators.ProhibitNullCharactersValidator)
        ]
        if admin_site is not None:
            # The admin's own search for sources (any name or alias), as on the release form.
            self.fields["source"] = source_field(
                AutocompleteSelect(Release._meta.get_field("source"), admin_site)
            )

    def clean_text(self):
        # Browsers send a textarea's line breaks as CRLF whatever the pasted text
        # had; undoing that keeps "normalized line endings" out of every report.
        value = self.cleaned_data["text"].replace("\r\n", "\n")
        if len(value.encode("utf-8", "surrogatepass")) > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _("The text is longer than %(limit)s; import it as files, or with the command."),
                code="too_long",
                params={"limit": filesizeformat(MAX_IMPORT_BYTES)},
            )
        return value

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        name = PurePath(upload.name).name
        if PurePath(name).suffix.lower() not in EXTENSIONS:
            raise forms.ValidationError(
                _("Only .txt and .jsonl files can be imported; “%(name)s” is neither."),
                code="extension",
                params={"name": name},
            )
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; at most %(limit)s can be imported here. Split it, or "
                  "import it with the command."),
                code="too_large",
                params={
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(MAX_IMPORT_BYTES),
                },
            )  # fmt: skip
        content = upload.read()
        try:
            content.decode("utf-8")
        except UnicodeDecodeError as error:
            raise forms.ValidationError(
                _("The file is not UTF-8 text (invalid byte at position %(offset)d). Save it as "
                  "UTF-8 and upload it again."),
                code="encoding",
                params={"offset": error.start},
            ) from None  # fmt: skip
        return InMemoryFile(name, content)

    def clean_published(self):
        value = self.cleaned_data["published"].strip()
        if not value:
            return None
        try:
            return importers.parse_partial_date(value)
        except importers.RecordError:
            raise forms.ValidationError(
                _("Give a real date as 2018, 2018-11 or 2018-11-08, only as far as it is known."),
                code="date",
            ) from None

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("inferred") and not cleaned.get("published"):
            self.add_error("inferred", _("Give the date that was worked out."))
        if self.has_error("text") or self.has_error("file"):
            return cleaned
        upload = self._upload(cleaned.get("text") or "", cleaned.get("file"))
        try:
            records = read_records(upload)
        except importers.RecordError as error:
            raise forms.ValidationError(
                _("The text cannot be imported: %(error)s"), params={"error": str(error)}
            ) from None
        if not records:
            raise forms.ValidationError(_("The file holds no records."), code="empty")
        if upload.is_txt:
            records = [self._check_text(*records[0], cleaned.get("source"))]
        cleaned["upload"], cleaned["records"] = upload, records
        return cleaned

    def _upload(self, pasted, upload):
        if upload is not None and pasted.strip():
            raise forms.ValidationError(_("Paste a text or choose a file, not both."), code="both")
        if upload is not None:
            return upload
        if not pasted.strip():
            raise forms.ValidationError(_("Paste a text or choose a file to import."), code="empty")
        return InMemoryFile(PASTED_NAME, pasted.encode("utf-8", "surrogatepass"))

    def _check_text(self, where, parse, source):
        """Parse a text now, so that what stops its import is shown on the form.

        Returns the record with its parse done. A text already in the archive
        needs no source: the import will only point to it.
        """
        try:
            data = parse()
        except (importers.RecordError, text.TextError) as error:
            raise forms.ValidationError(
                _("The text cannot be imported: %(error)s"), params={"error": str(error)}
            ) from None
        if source is None and not self.has_error("source") and not importers.existing_release(data):
            if not data.agency:
                self.add_error(
                    "source", _("The first line names no agency: choose the source of the text.")
                )
            elif importers.find_source(data.agency) is None:
                self.add_error(
                    "source",
                    forms.ValidationError(
                        _("The first line names the agency “%(agency)s”, which is not a known "
                          "source: choose the source, or add “%(agency)s” to the aliases of a "
                          "source."),
                        code="unknown_agency",
                        params={"agency": data.agency},
                    ),
                )  # fmt: skip
        return where, lambda: data


FIELDSETS = [
    (_("What to import"), {"fields": ["text", "file"]}),
    (_("About the text"), {"fields": ["source", "published", "inferred"]}),
]


# Importing -----------------------------------------------------------------


@dataclass
class RecordResult:
    """What happened to one record, and what the editor is told about it."""

    where: str
    action: str = "error"  # "created", "exists" or "error", as the command's outcomes
    release: Release | None = None
    data: importers.ReleaseData | None = None
    message: str = ""
    importer_notes: list[str] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)
    url: str = ""  # the release's page in the admin


def import_upload(cleaned, may_add_sources) -> list[RecordResult]:
    """Import every record of a valid form's upload, each in its own transaction.

    As in the command, one bad record is reported and the others still import.
    The form's source and date apply to a text (``.txt``); ``.jsonl`` records
    carry their own, and create the sources they name if the editor may.
    """
    upload = cleaned["upload"]
    source = cleaned.get("source") if upload.is_txt else None
    date = cleaned.get("published") if upload.is_txt else None
    results = []
    for where, parse in cleaned["records"]:
        result = import_record(
            where, parse, source, date, cleaned.get("inferred", False), may_add_sources
        )
        result.notes = editor_notes(result, upload.is_txt, source)
        results.append(result)
    return results


def import_record(where, parse, source, date, inferred, may_add_sources) -> RecordResult:
    result = RecordResult(where)
    try:
        result.data = data = parse()
        if date:
            data.published_on, data.published_precision = date
            data.published_inferred = inferred
        if not may_add_sources:
            check_sources_exist(data)
        with transaction.atomic():
            release, created, notes = importers.save_release(
                data, default_source=source, status=Release.Status.DRAFT
            )
    except (importers.RecordError, text.TextError) as error:
        result.message = str(error)
        return result
    except DatabaseError as error:
        result.message = gettext("refused by the database: %(error)s") % {"error": error}
        return result
    result.action = "created" if created else "exists"
    result.release = release
    result.importer_notes = notes
    return result


def check_sources_exist(data):
    """Refuse a new record naming unknown sources, which the importer would create.

    The command is run by whoever runs the server; here the editor's own
    permission to add sources is what counts.
    """
    unknown = [
        name
        for name in [data.source_name, *data.relayed_from]
        if name and not importers.find_source(name)
    ]
    if unknown and not importers.existing_release(data):
        raise importers.RecordError(
            gettext(
                "it names sources that are not in the archive (%(names)s), and you may not add "
                "sources: ask a publisher, or import it without them"
            )
            % {"names": ", ".join(unknown)}
        )


def editor_notes(result, is_txt, chosen_source) -> list[tuple[int, str]]:
    """(message level, sentence) for the editor: first line, source, sanitation, importer notes.

    The first line and the source matter only for a release just created; what
    sanitation changed is told for every record that could be read.
    """
    data = result.data
    if data is None:
        return []
    notes = []
    if result.action == "created":
        if is_txt:
            notes.append((messages.INFO, first_line_note(data)))
        notes.append((messages.INFO, source_note(result.release.source, data, chosen_source)))
    notes += [
        (messages.WARNING, gettext("Sanitation: %(note)s") % {"note": note})
        for note in data.report.messages(gettext)
    ]
    # parse_txt's only note is how it read the first line, told above in the
    # editor's language; a .jsonl record's notes are the importer's (English).
    importer_notes = result.importer_notes if is_txt else data.warnings + result.importer_notes
    notes += [
        (messages.WARNING, gettext("Importer: %(note)s") % {"note": note})
        for note in importer_notes
    ]
    return notes


def first_line_note(data) -> str:
    if data.dateline and data.agency:
        return gettext("First line read as a dateline: place “%(place)s”, agency “%(agency)s”.") % {
            "place": data.dateline,
            "agency": data.agency,
        }
    if data.dateline:
        return gettext("First line read as a dateline: place “%(place)s”.") % {
            "place": data.dateline
        }
    if data.section_label:
        return gettext("First line read as a section label: “%(label)s”.") % {
            "label": data.section_label
        }
    return gettext(
        "No dateline or section label found in the first line: the whole text is the body."
    )


def source_note(source, data, chosen_source) -> str:
    if chosen_source is not None:
        return gettext("Source: %(source)s (as chosen).") % {"source": source.name}
    if data.source_name:
        return gettext("Source: %(source)s (named in the record).") % {"source": source.name}
    return gettext("Source: %(source)s, found from the agency “%(agency)s” in the dateline.") % {
        "source": source.name,
        "agency": data.agency,
    }


# The admin page ------------------------------------------------------------


class ImportAdminMixin:
    """The release admin's import page (``import/``), for users who may add releases."""

    import_template = "admin/statements/release/import.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="{}_{}_import".format(*info),
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return self._render_import(request, self._import_form())
        form = self._import_form(request.POST, request.FILES)
        if not form.is_valid():
            return self._render_import(request, form)
        if not form.cleaned_data["upload"].is_txt and (
            form.cleaned_data.get("source") or form.cleaned_data.get("published")
        ):
            self.message_user(
                request,
                gettext("The source and date of the form apply to texts; .jsonl records carry "
                        "their own, and were imported with them."),
                messages.WARNING,
            )  # fmt: skip
        results = import_upload(form.cleaned_data, request.user.has_perm("statements.add_source"))
        if len(results) > 1:
            return self._render_import(request, self._import_form(), results)
        return self._single_result(request, form, results[0])

    def _import_form(self, *args):
        return ImportForm(*args, admin_site=self.admin_site)

    def _single_result(self, request, form, result):
        """A text: open the new draft, point to the release it already is, or say why not."""
        if result.action == "error":
            form.add_error(
                None, gettext("The text cannot be imported: %(error)s") % {"error": result.message}
            )
            for level, note in result.notes:
                self.message_user(request, note, level)
            return self._render_import(request, form)
        release, page = result.release, self._release_url(result.release)
        if result.action == "exists":
            # Nothing new to open: back to the form, with the way to the release.
            message, level, target = (
                format_html(
                    '{} <a href="{}">{}</a>',
                    gettext("This text is already in the archive; nothing was imported:"),
                    page,
                    release_label(release),
                ),
                messages.WARNING,
                request.path,
            )
        else:
            message, level, target = (
                gettext("Imported as a draft: %(release)s. Annotate it below.")
                % {"release": release_label(release)},
                messages.SUCCESS,
                page,
            )
        self.message_user(request, message, level)
        for level, note in result.notes:
            self.message_user(request, note, level)
        return HttpResponseRedirect(target)

    def _release_url(self, release):
        """The release's annotation page, or its change page where there is none."""
        info = self.admin_site.name, self.opts.app_label, self.opts.model_name
        try:
            return reverse("{}:{}_{}_annotate".format(*info), args=[release.pk])
        except NoReverseMatch:
            return reverse("{}:{}_{}_change".format(*info), args=[release.pk])

    def _render_import(self, request, form, results=None):
        for result in results or []:
            result.url = self._release_url(result.release) if result.release else ""
        counts = {
            action: sum(1 for r in results or [] if r.action == action)
            for action in ("created", "exists", "error")
        }
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import a text"),
            "opts": self.opts,
            "form": form,
            "adminform": helpers.AdminForm(form, FIELDSETS, {}, model_admin=self),
            "media": self.media + form.media,
            "results": results,
            "counts": counts,
        }
        return TemplateResponse(request, self.import_template, context)


def release_label(release) -> str:
    return gettext("release %(id)s, “%(title)s”") % {
        "id": release.public_id,
        "title": release.display_title,
    }
