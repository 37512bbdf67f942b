"""The editorial tool: the Django admin, in Arabic, right to left.

Editors create and change drafts; only users with ``publish_release`` (the
publishers group) publish, withdraw, or change what is published. The rule
is ``Release.editable_by``; every admin here asks it. Texts typed or pasted
into the admin go through the same sanitation as imports, and the editor is
told what it changed. The change history can be read; restoring a version is
left to the editorial desk, which re-anchors positions (no "revert" here).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Subquery
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import anchoring, merging, search
from .admin_annotate import AnnotationAdminMixin
from .admin_history import ReleaseHistoryMixin
from .admin_import import ImportAdminMixin
from .dates import format_partial_date
from .forms import RTL_TEXTAREA, SanitizingFormMixin
from .models import EditConflict, Position, PublicIdentifier, Release, Source, Topic


def can_publish(user):
    return user.has_perm("statements.publish_release")


def editable(user, release):
    return release is None or release.editable_by(user)


class ArabicTextMedia:
    css = {"all": ["css/admin.css"]}


class HistoryAdmin(SimpleHistoryAdmin):
    """Change history to read. Its form cannot save: that would bypass every rule here."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


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


class SanitationMessagesMixin:
    """Tell the editor what sanitation changed, after a successful save."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        for note in getattr(form, "sanitation_notes", []):
            self.message_user(
                request, gettext("Sanitation: %(note)s") % {"note": note}, messages.WARNING
            )


class RevisionFormMixin(forms.Form):
    """Optimistic locking for an admin form: the revision the editor loaded travels with
    the form, and a save over a newer one is refused with a clear message, never a
    silent overwrite (statements.models.EditConflict is the last line, in the model)."""

    expected_revision = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["expected_revision"].initial = self.instance.revision

    def conflict_message(self, current):
        message = gettext(
            "Someone else saved this record while you were editing it (now at revision "
            "%(current)s, you opened revision %(mine)s). Nothing of yours was saved yet: "
            "open the record in a new tab to see their change, then make yours again."
        ) % {"current": current, "mine": self.instance.revision}
        release_pk = getattr(self.instance, "release_id", None) or self.instance.pk
        if not isinstance(self.instance, (Release, Position)) or release_pk is None:
            return message
        changes = reverse("admin:statements_release_changes", args=[release_pk])
        return format_html(
            '{} <a href="{}" target="_blank" rel="noopener">{}</a>',
            message,
            changes,
            gettext("See what changed (opens a new tab)"),
        )

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None or (self.is_bound and not self.has_changed()):
            return cleaned
        expected = cleaned.get("expected_revision")
        if expected is None:
            raise forms.ValidationError(
                gettext("This form is missing its revision: reload the page and try again.")
            )
        rows = type(self.instance)._base_manager.filter(pk=self.instance.pk)
        if connection.features.has_select_for_update:
            rows = rows.select_for_update()  # a concurrent save waits for this one's outcome
        current = rows.values_list("revision", flat=True).first()
        self.instance.revision = expected
        if current is not None and current != expected:
            raise forms.ValidationError(self.conflict_message(current), code="conflict")
        return cleaned


class ReleaseAdminForm(RevisionFormMixin, SanitizingFormMixin, forms.ModelForm):
    sanitized_fields = ("body", "withdrawal_reason")
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

    user = None  # set by ReleaseAdmin.get_form: who is saving (for the workflow buttons)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The canonical text keeps its spaces and line breaks until sanitation
        # trims it explicitly, before any offset exists.
        if "body" in self.fields:
            self.fields["body"].strip = False

    def clean(self):
        cleaned = super().clean()
        target = self.data.get(TRANSITION)
        if target:
            stored = self.instance.stored_status() or Release.Status.DRAFT
            if target not in dict(workflow_buttons(self.user, stored)):
                raise forms.ValidationError(
                    gettext("You cannot move this release from %(from)s to %(to)s.")
                    % {
                        "from": Release.Status(stored).label,
                        "to": Release.Status(target).label
                        if target in Release.Status.values
                        else target,
                    }
                )
            # The button sets the status; the model's rules (Release.clean) then check it.
            cleaned["status"] = target
        return cleaned


TRANSITION = "_transition"


def workflow_buttons(user, status):
    """[(target status, button label)] the user may press on a release in ``status``."""
    S = Release.Status
    publisher = can_publish(user)
    offered = {
        S.DRAFT: [(S.IN_REVIEW, _("Send for review")), (S.PUBLISHED, _("Publish"))],
        S.IN_REVIEW: [(S.DRAFT, _("Back to draft")), (S.PUBLISHED, _("Publish"))],
        S.PUBLISHED: [(S.WITHDRAWN, _("Withdraw (give the public reason above)"))],
        S.WITHDRAWN: [(S.PUBLISHED, _("Publish again"))],
    }.get(status, [])
    return [
        (target, label)
        for target, label in offered
        if target in Release.TRANSITIONS[status]
        and (publisher or (target in (S.DRAFT, S.IN_REVIEW) and status in (S.DRAFT, S.IN_REVIEW)))
    ]


class PositionForm(RevisionFormMixin, SanitizingFormMixin, forms.ModelForm):
    sanitized_fields = ("note",)
    single_line_fields = ("summary",)

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
            self.fields["quote"] = PassageField(
                label=self.fields["quote"].label,
                help_text=self.fields["quote"].help_text,
                widget=self.fields["quote"].widget,
                required=self.fields["quote"].required,
            )

    def clean(self):
        cleaned = super().clean()
        # A passage the editor did not touch follows the text: when the same save changes
        # the text, re-anchoring places it (Release.save), so it is not checked against the
        # new text here.
        self.instance.anchor_follows_text = self.instance.pk is not None and not (
            {"start", "end", "quote"} & set(self.changed_data)
        )
        return cleaned


class PassageField(forms.CharField):
    """A quoted passage: exactly the text, spaces included (never stripped). Browsers send
    a textarea's line breaks as CRLF and the canonical text has LF: read as LF, so an
    untouched passage across a line break is not taken for a changed one."""

    def __init__(self, **kwargs):
        super().__init__(strip=False, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n")


class PositionInlineFormSet(BaseInlineFormSet):
    """The release's positions, saved after the release (which re-anchors them when its
    text changed): a position whose passage the editor left alone is saved with the
    place re-anchoring gave it, not the stale one the page was loaded with."""

    def save_existing(self, form, obj, commit=True):
        if getattr(obj, "anchor_follows_text", False):
            # The revision too: only this save's re-anchoring can have moved it on since
            # the form's own check (RevisionFormMixin), which locked the row on PostgreSQL.
            fresh = Position.objects.filter(pk=obj.pk).values(
                "start", "end", "quote", "orphaned", "prefix", "suffix", "revision"
            )[0]
            for name, value in fresh.items():
                setattr(obj, name, value)
        return super().save_existing(form, obj, commit)


class PositionInline(admin.StackedInline):
    model = Position
    form = PositionForm
    formset = PositionInlineFormSet
    extra = 0
    autocomplete_fields = ["topics"]
    readonly_fields = ["number", "orphaned"]
    fields = [
        "expected_revision",
        ("number", "stance", "attribution"),
        ("start", "end", "orphaned"),
        "quote",
        "topics",
        "summary",
        "note",
    ]
    ordering = ["start", "number"]

    def has_change_permission(self, request, obj=None):
        return editable(request.user, obj) and super().has_change_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return editable(request.user, obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return editable(request.user, obj) and super().has_delete_permission(request, obj)


class PublicationDateFilter(admin.SimpleListFilter):
    title = _("date precision")
    parameter_name = "precision"

    def lookups(self, request, model_admin):
        return Release._meta.get_field("published_precision").choices

    def queryset(self, request, queryset):
        if self.value() in dict(self.lookups(request, None)):
            return queryset.filter(published_precision=self.value())
        return queryset


class ReviewFilter(admin.SimpleListFilter):
    """What needs an editor: texts waiting for review, and positions left without a passage."""

    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("review", _("Needs review")), ("orphaned", _("Has orphaned positions"))]

    def queryset(self, request, queryset):
        if self.value() == "review":
            return queryset.filter(status=Release.Status.IN_REVIEW)
        if self.value() == "orphaned":
            orphans = Position.objects.filter(release=OuterRef("pk"), orphaned=True)
            return queryset.filter(Exists(orphans))
        return queryset


class StableSlugMixin:
    """A slug is part of public URLs: set once, when the record is created."""

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "slug"] if obj is not None else fields

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else super().get_prepopulated_fields(request, obj)


@admin.register(PublicIdentifier)
class PublicIdentifierAdmin(admin.ModelAdmin):
    """The register of issued identifiers: read-only, for audit (nothing is ever deleted)."""

    list_display = ["number", "issued_at", "release_title"]
    search_fields = ["=number"]
    date_hierarchy = "issued_at"
    ordering = ["-number"]

    def get_queryset(self, request):
        releases = Release.objects.filter(public_id=OuterRef("number"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                _title=Subquery(releases.values("title")[:1]),
                _release_pk=Subquery(releases.values("pk")[:1]),
            )
        )

    @admin.display(description=_("release"))
    def release_title(self, obj):
        if obj._release_pk is None:
            return gettext("— (deleted draft; never reissued)")
        return obj._title or gettext("(no title)")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SourceForm(SanitizingFormMixin, forms.ModelForm):
    sanitized_fields = ("aliases",)
    single_line_fields = ("name", "name_en", "country")

    class Meta:
        model = Source
        fields = ["name", "name_en", "slug", "kind", "country", "homepage", "aliases"]


@admin.register(Source)
class SourceAdmin(StableSlugMixin, SanitationMessagesMixin, HistoryAdmin):
    form = SourceForm
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


class TopicForm(SanitizingFormMixin, forms.ModelForm):
    sanitized_fields = ("aliases", "description")
    single_line_fields = ("name_ar", "name_en")

    class Meta:
        model = Topic
        fields = ["slug", "name_ar", "name_en", "kind", "parent", "aliases", "description"]


@admin.register(Topic)
class TopicAdmin(StableSlugMixin, SanitationMessagesMixin, HistoryAdmin):
    form = TopicForm
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
class ReleaseAdmin(
    AnnotationAdminMixin,
    ImportAdminMixin,
    ReleaseHistoryMixin,
    ArabicSearchMixin,
    SanitationMessagesMixin,
    HistoryAdmin,
):
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
    list_filter = [ReviewFilter, "status", "issuing_body", PublicationDateFilter, "source"]
    # Searched with the Arabic analyzer (title and text), or by public identifier.
    search_fields = ["title", "body"]
    date_hierarchy = "published_on"
    autocomplete_fields = ["source", "relayed_from"]
    list_select_related = ["source"]
    ordering = ["-public_id"]
    readonly_fields = [
        "public_id", "body_sha256", "first_published_at", "published_at", "published_by",
        "created_at", "updated_at", "revision",
    ]  # fmt: skip
    actions = ["submit_for_review", "publish", "merge_duplicates"]
    fieldsets = [
        (None, {"fields": ["public_id", "status", "withdrawal_reason", "expected_revision"]}),
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
                "fields": [
                    "body_sha256",
                    "first_published_at",
                    ("published_at", "published_by"),
                    "created_at",
                    "updated_at",
                    "revision",
                ],
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
        return super().has_change_permission(request, obj) and editable(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        # Nothing that was ever public is deleted: it is withdrawn instead.
        if obj is not None and obj.first_published_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def has_publish_permission(self, request):
        return can_publish(request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.user = request.user
        if "status" in form.base_fields:
            field = form.base_fields["status"]
            # Merging is an action of its own (it moves positions and redirects permalinks).
            allowed = {v for v, _label in field.choices} - {Release.Status.MERGED}
            if not can_publish(request.user):
                allowed = {Release.Status.DRAFT, Release.Status.IN_REVIEW}
            field.choices = [(v, label) for v, label in field.choices if v in allowed]
        return form

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        status = obj.status if obj is not None else Release.Status.DRAFT
        context["workflow_buttons"] = (
            workflow_buttons(request.user, status) if editable(request.user, obj) else []
        )
        context["transition_name"] = TRANSITION
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except EditConflict:
            # Two saves raced past the form's own check (SQLite has no row locks): the
            # transaction was rolled back, nothing of this save was written.
            self.message_user(
                request,
                gettext(
                    "Someone else saved this release at the same moment; your changes were "
                    "not saved. Here it is as they left it: make your changes again."
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(request.path)

    def response_change(self, request, obj):
        if request.POST.get(TRANSITION):
            # A workflow button: stay on the release, and say where it is now.
            self.message_user(
                request,
                gettext("Saved. The release is now: %(status)s.")
                % {"status": obj.get_status_display()},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def save_model(self, request, obj, form, change):
        if obj.status == Release.Status.PUBLISHED and obj.stored_status() != obj.status:
            obj.published_by = request.user
        obj.save()
        for note in getattr(form, "sanitation_notes", []):
            self.message_user(
                request, gettext("Sanitation: %(note)s") % {"note": note}, messages.WARNING
            )
        for warning, note in anchoring.messages(obj.anchoring):
            self.message_user(request, note, messages.WARNING if warning else messages.INFO)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        orphans = [p.number for p in form.instance.orphaned_positions().only("number")]
        if orphans:
            self.message_user(request, anchoring.orphan_warning(orphans), messages.WARNING)

    @admin.action(description=_("Send the selected drafts for review"), permissions=["change"])
    def submit_for_review(self, request, queryset):
        changed = 0
        for release in queryset.filter(status=Release.Status.DRAFT):
            if release.editable_by(request.user):
                release.status = Release.Status.IN_REVIEW
                release.save(update_fields=["status", "updated_at"])
                changed += 1
        self.message_user(
            request,
            ngettext("%(n)d release sent for review.", "%(n)d releases sent for review.", changed)
            % {"n": changed},
        )

    @admin.action(
        description=_("Merge the selected duplicates into another release"),
        permissions=["publish"],
    )
    def merge_duplicates(self, request, queryset):
        """Ask which release to keep, then merge the selected ones into it."""
        form = MergeForm(request.POST if "kept" in request.POST else None)
        if form.is_valid():
            kept = form.cleaned_data["kept"]
            for duplicate in queryset.exclude(pk=kept.pk):
                try:
                    unplaced = merging.merge(duplicate, kept)
                except ValidationError as error:
                    self.message_user(
                        request,
                        f"{duplicate.public_id}: {' '.join(error.messages)}",
                        messages.ERROR,
                    )
                    continue
                self.message_user(
                    request,
                    gettext("Release %(dup)s merged into %(kept)s.")
                    % {"dup": duplicate.public_id, "kept": kept.public_id},
                )
                if unplaced:
                    self.message_user(
                        request,
                        gettext(
                            "Positions %(list)s of release %(dup)s have no passage in the kept "
                            "text; their links lead to the kept release."
                        )
                        % {
                            "list": ", ".join(f"#p{n}" for n in unplaced),
                            "dup": duplicate.public_id,
                        },
                        messages.WARNING,
                    )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Merge duplicates"),
            "form": form,
            "releases": queryset,
            "opts": self.model._meta,
            "action": "merge_duplicates",
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        }
        return TemplateResponse(request, "admin/statements/release/merge.html", context)

    @admin.action(description=_("Publish the selected releases"), permissions=["publish"])
    def publish(self, request, queryset):
        changed = 0
        for release in queryset.filter(status__in=[Release.Status.DRAFT, Release.Status.IN_REVIEW]):
            orphans = [p.number for p in release.orphaned_positions().only("number")]
            if orphans:
                self.message_user(
                    request,
                    f"{release.public_id}: {anchoring.orphan_warning(orphans)}",
                    messages.ERROR,
                )
                continue
            release.status = Release.Status.PUBLISHED
            release.published_by = request.user
            release.save()
            changed += 1
        self.message_user(
            request,
            ngettext("%(n)d release published.", "%(n)d releases published.", changed)
            % {"n": changed},
        )


class MergeForm(forms.Form):
    kept = forms.IntegerField(
        label=_("Public identifier of the release to keep"),
        min_value=1,
        help_text=_(
            "The selected releases become duplicates of this one: their permalinks lead to it, "
            "and their positions are placed on the same passages in it."
        ),
    )

    def clean_kept(self):
        kept = Release.objects.filter(public_id=self.cleaned_data["kept"]).first()
        if kept is None:
            raise forms.ValidationError(gettext("No release has this public identifier."))
        return kept


@admin.register(Position)
class PositionAdmin(ArabicSearchMixin, SanitationMessagesMixin, HistoryAdmin):
    Media = ArabicTextMedia
    form = PositionForm
    public_id_lookup = "release__public_id"
    list_display = ["__str__", "stance", "summary", "release", "attribution"]
    list_filter = ["stance", "attribution", "topics__kind", "release__status"]
    # Searched with the Arabic analyzer (quote and summary), or by release identifier.
    search_fields = ["quote", "summary"]
    autocomplete_fields = ["release", "topics"]
    list_select_related = ["release", "release__source"]
    date_hierarchy = "release__published_on"

    def get_readonly_fields(self, request, obj=None):
        # A position belongs to its release for good: its number is that release's.
        if obj is not None:
            return ["release", "number", "prefix", "suffix"]
        return ["number", "prefix", "suffix"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        user = request.user

        class GuardedPositionForm(form):
            def clean(self):
                cleaned = super().clean()
                release = cleaned.get("release")
                if release is not None and not editable(user, release):
                    raise forms.ValidationError(
                        gettext("Only a publisher can change the positions of a published release.")
                    )
                return cleaned

        return GuardedPositionForm

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and editable(
            request.user, obj.release if obj else None
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and editable(
            request.user, obj.release if obj else None
        )
