"""The editorial tool: the Django admin, in Arabic, right to left.

Editors create and change drafts; only users with ``publish_release``
(the publishers group) publish, withdraw, or change what is published.
Texts pasted into the admin go through the same sanitation as imports, and
the editor is told what it removed.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import search, text
from .dates import format_partial_date
from .models import Position, PublicIdentifier, Release, Source, Topic

RTL_TEXTAREA = {"dir": "rtl", "lang": "ar", "class": "csto-arabic"}
PUBLISH_PERMISSION = "statements.publish_release"


def can_publish(user):
    return user.has_perm(PUBLISH_PERMISSION)


class ArabicSearchMixin:
    """The admin's search box uses the archive's Arabic search (any spelling)."""

    public_id_lookup = "public_id"

    def get_search_results(self, request, queryset, search_term):
        search_term = search_term.strip()
        if not search_term:
            return queryset, False
        matched = search.search(queryset, search_term, rank=False).queryset
        if search_term.isdigit():
            matched = matched | queryset.filter(**{self.public_id_lookup: int(search_term)})
        return matched, False


class SanitizingFormMixin:
    """Sanitize the named text fields as at ingest and keep a report for the editor."""

    sanitized_fields: tuple[str, ...] = ()
    single_line_fields: tuple[str, ...] = ()

    def _clean_text(self, name, single_line):
        value = self.cleaned_data.get(name) or ""
        try:
            clean, report = (text.sanitize_line if single_line else text.sanitize)(value)
        except text.TextError as error:
            raise forms.ValidationError(str(error)) from None
        if report.changed or report.invisible_kept:
            label = self.fields[name].label
            self.sanitation_notes.extend(f"{label}: {m}" for m in report.messages(gettext))
        return clean

    def clean(self):
        self.sanitation_notes = []
        cleaned = super().clean()
        for name in self.sanitized_fields + self.single_line_fields:
            if name in cleaned:
                cleaned[name] = self._clean_text(name, name in self.single_line_fields)
        return cleaned


class ReleaseAdminForm(SanitizingFormMixin, forms.ModelForm):
    sanitized_fields = ("body",)
    single_line_fields = ("title", "dateline", "section_label")

    class Meta:
        model = Release
        fields = [
            "status", "withdrawal_reason", "title", "section_label", "dateline", "body",
            "source", "relayed_from", "url", "archived_url", "issuing_body",
            "published_on", "published_precision", "published_inferred",
            "statement_on", "statement_precision", "statement_inferred",
        ]  # fmt: skip
        widgets = {
            "body": forms.Textarea(attrs={**RTL_TEXTAREA, "rows": 18, "cols": 90}),
            "withdrawal_reason": forms.Textarea(attrs={**RTL_TEXTAREA, "rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The canonical text keeps its spaces and line breaks until sanitation
        # trims it explicitly, before any offset exists.
        if "body" in self.fields:
            self.fields["body"].strip = False


class PositionForm(forms.ModelForm):
    class Meta:
        model = Position
        fields = [
            "release", "start", "end", "quote", "stance", "topics", "summary",
            "attribution", "note",
        ]  # fmt: skip
        widgets = {
            "quote": forms.Textarea(attrs={**RTL_TEXTAREA, "rows": 3, "cols": 60}),
            "summary": forms.TextInput(attrs={**RTL_TEXTAREA, "size": 60}),
            "note": forms.Textarea(attrs={**RTL_TEXTAREA, "rows": 2, "cols": 40}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "quote" in self.fields:
            # The quote must equal the text exactly, spaces included.
            self.fields["quote"].strip = False


class PositionInline(admin.StackedInline):
    model = Position
    form = PositionForm
    extra = 0
    autocomplete_fields = ["topics"]
    readonly_fields = ["number"]
    fields = [
        ("number", "stance", "attribution"),
        ("start", "end"),
        "quote",
        "topics",
        "summary",
        "note",
    ]
    ordering = ["start", "number"]

    def has_change_permission(self, request, obj=None):
        return _editable(request, obj) and super().has_change_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return _editable(request, obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _editable(request, obj) and super().has_delete_permission(request, obj)


def _editable(request, release):
    return editable_by(request.user, release)


def editable_by(user, release):
    """Published and withdrawn releases are changed by publishers only."""
    if release is None or release.status in (Release.Status.DRAFT, Release.Status.IN_REVIEW):
        return True
    return can_publish(user)


class PublicationDateFilter(admin.SimpleListFilter):
    title = _("date precision")
    parameter_name = "precision"

    def lookups(self, request, model_admin):
        return Release._meta.get_field("published_precision").choices

    def queryset(self, request, queryset):
        if self.value() in dict(self.lookups(request, None)):
            return queryset.filter(published_precision=self.value())
        return queryset


class ArabicTextMedia:
    css = {"all": ["css/admin.css"]}


@admin.register(PublicIdentifier)
class PublicIdentifierAdmin(admin.ModelAdmin):
    """The register of issued identifiers: read-only, for audit (nothing is ever deleted)."""

    list_display = ["number", "issued_at", "release_link"]
    search_fields = ["=number"]
    date_hierarchy = "issued_at"
    ordering = ["-number"]

    @admin.display(description=_("release"))
    def release_link(self, obj):
        release = Release.objects.filter(public_id=obj.number).first()
        return str(release) if release else gettext("— (deleted draft; never reissued)")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Source)
class SourceAdmin(SimpleHistoryAdmin):
    list_display = ["name", "name_en", "kind", "country", "release_count"]
    list_filter = ["kind"]
    search_fields = ["name", "name_en", "aliases", "slug"]
    ordering = ["name"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_release_count=Count("releases"))

    @admin.display(description=_("releases"), ordering="_release_count")
    def release_count(self, obj):
        return obj._release_count


@admin.register(Topic)
class TopicAdmin(SimpleHistoryAdmin):
    list_display = ["name_ar", "name_en", "kind", "parent", "position_count"]
    list_filter = ["kind"]
    search_fields = ["name_ar", "name_en", "aliases", "slug"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]
    ordering = ["kind", "name_ar"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_position_count=Count("positions"))

    @admin.display(description=_("positions"), ordering="_position_count")
    def position_count(self, obj):
        return obj._position_count


@admin.register(Release)
class ReleaseAdmin(ArabicSearchMixin, SimpleHistoryAdmin):
    Media = ArabicTextMedia
    form = ReleaseAdminForm
    inlines = [PositionInline]
    list_display = [
        "public_id",
        "title_display",
        "source",
        "date_display",
        "issuing_body",
        "status",
        "position_count",
    ]
    list_display_links = ["public_id", "title_display"]
    list_filter = ["status", "issuing_body", PublicationDateFilter, "source"]
    # Searched with the Arabic analyzer (title and text), or by public identifier.
    search_fields = ["title", "body"]
    date_hierarchy = "published_on"
    autocomplete_fields = ["source", "relayed_from"]
    list_select_related = ["source"]
    ordering = ["-public_id"]
    readonly_fields = ["public_id", "body_sha256", "first_published_at", "created_at", "updated_at"]
    actions = ["submit_for_review", "publish"]
    fieldsets = [
        (None, {"fields": ["public_id", "status", "withdrawal_reason"]}),
        (_("Text"), {"fields": ["title", "section_label", "dateline", "body"]}),
        (
            _("Source"),
            {"fields": ["source", "relayed_from", "url", "archived_url", "issuing_body"]},
        ),
        (
            _("Dates"),
            {
                "fields": [
                    ("published_on", "published_precision", "published_inferred"),
                    ("statement_on", "statement_precision", "statement_inferred"),
                ]
            },
        ),
        (
            _("Record"),
            {
                "classes": ["collapse"],
                "fields": ["body_sha256", "first_published_at", "created_at", "updated_at"],
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_position_count=Count("positions"))

    @admin.display(description=_("title"))
    def title_display(self, obj):
        return obj.display_title

    @admin.display(description=_("publication date"), ordering="published_on")
    def date_display(self, obj):
        return format_partial_date(
            obj.published_on, obj.published_precision, obj.published_inferred
        )

    @admin.display(description=_("positions"), ordering="_position_count")
    def position_count(self, obj):
        return obj._position_count

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Nothing that was ever public is deleted: it is withdrawn instead.
        if obj is not None and obj.first_published_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "status" in form.base_fields and not can_publish(request.user):
            allowed = {Release.Status.DRAFT, Release.Status.IN_REVIEW}
            field = form.base_fields["status"]
            field.choices = [(v, label) for v, label in field.choices if v in allowed]
        return form

    def save_model(self, request, obj, form, change):
        for note in getattr(form, "sanitation_notes", []):
            self.message_user(
                request, gettext("Sanitation: %(note)s") % {"note": note}, messages.WARNING
            )
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Send the selected drafts for review"))
    def submit_for_review(self, request, queryset):
        changed = 0
        for release in queryset.filter(status=Release.Status.DRAFT):
            release.status = Release.Status.IN_REVIEW
            release.save()
            changed += 1
        self.message_user(
            request,
            ngettext("%(n)d release sent for review.", "%(n)d releases sent for review.", changed)
            % {"n": changed},
        )

    @admin.action(description=_("Publish the selected releases"), permissions=["publish"])
    def publish(self, request, queryset):
        changed = 0
        for release in queryset.filter(status__in=[Release.Status.DRAFT, Release.Status.IN_REVIEW]):
            release.status = Release.Status.PUBLISHED
            release.save()
            changed += 1
        self.message_user(
            request,
            ngettext("%(n)d release published.", "%(n)d releases published.", changed)
            % {"n": changed},
        )

    def has_publish_permission(self, request):
        return can_publish(request.user)


@admin.register(Position)
class PositionAdmin(ArabicSearchMixin, SimpleHistoryAdmin):
    public_id_lookup = "release__public_id"
    Media = ArabicTextMedia
    form = PositionForm
    list_display = ["__str__", "stance", "summary", "release", "attribution"]
    list_filter = ["stance", "attribution", "topics__kind", "release__status"]
    # Searched with the Arabic analyzer (quote and summary), or by release identifier.
    search_fields = ["quote", "summary"]
    autocomplete_fields = ["release", "topics"]
    list_select_related = ["release", "release__source"]
    readonly_fields = ["number", "prefix", "suffix"]
    date_hierarchy = "release__published_on"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        user = request.user

        class GuardedPositionForm(form):
            def clean(self):
                cleaned = super().clean()
                release = cleaned.get("release")
                if release is not None and not editable_by(user, release):
                    raise forms.ValidationError(
                        gettext("Only a publisher can change the positions of a published release.")
                    )
                return cleaned

        return GuardedPositionForm

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _editable(
            request, obj.release if obj else None
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and _editable(
            request, obj.release if obj else None
        )
