"""The editorial desk's history of a release: who changed what, a diff of two texts, restore.

django-simple-history keeps a record of every save of a release and of each
of its positions. The admin's own history page lists those records but cannot
say what changed, and its "revert" would write an old row back past every rule
(re-anchoring, optimistic locking, who may edit what). This desk answers the
editor's questions instead: what changed in each save, how two versions of the
text differ word by word, and putting an earlier text back — through
``Release.save``, so positions are re-anchored and the restore is itself a new
record in the history (nothing is rewritten).
"""

import difflib
import re
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import ModelChange

from . import anchoring
from .models import EditConflict, Position, Release

PAGE_SIZE = 50

# The fields a restore puts back: the text as the source gave it. Status, dates
# and source are editorial decisions of their own, changed in the change form.
TEXT_FIELDS = ("title", "section_label", "dateline", "body")

# Derived or bookkeeping columns: they change with every save (or follow from a
# field that is shown), so listing them would hide the change the editor made.
NOISE_FIELDS = {
    "id",
    "created_at",
    "updated_at",
    "revision",
    "body_sha256",
    "search_tokens",
    "search_folded",
    "search_version",
    "prefix",
    "suffix",
    "last_position_number",
    "first_published_at",
    "published_at",
    "published_by",
    "merged_positions",
}

# Long texts: the change list says they changed and links to the diff instead
# of printing two copies of a whole article.
LONG_TEXT_FIELDS = {"body"}
SHORT_VALUE_LENGTH = 80

KINDS = {"+": _("created"), "~": _("changed"), "-": _("deleted")}

# Words, punctuation marks and the whitespace between them, so that joining the
# tokens gives the text back exactly (line breaks included). Punctuation is a
# token of its own, so "سورية." → "ليبيا." marks the word, not the full stop.
# (Not \w: Arabic diacritics are not \w, and a word must keep its harakat.)
PUNCTUATION = ".,:;!?\"'()[]«»،؛؟…"
TOKENS = re.compile(rf"\s+|[^\s{re.escape(PUNCTUATION)}]+|\S")


# -- Word-level diff -------------------------------------------------------------------------


def word_diff(old, new):
    """[(op, text)] turning ``old`` into ``new``; op is "equal", "delete" or "insert".

    Tokens keep their whitespace, so the equal and deleted pieces give ``old``
    back and the equal and inserted pieces give ``new``. A lone run of spaces
    between two changes is folded into them: "‹del›a b‹/del›‹ins›c d‹/ins›"
    reads better than four fragments held together by a matched space.
    """
    a, b = TOKENS.findall(old), TOKENS.findall(new)
    # autojunk would treat the (very common) space token as junk and fragment the diff.
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    runs = []  # [equal?, old text, new text]
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        removed, added = "".join(a[i1:i2]), "".join(b[j1:j2])
        runs.append([tag == "equal", removed, added])
    for i in range(1, len(runs) - 1):
        equal, removed, _added = runs[i]
        if equal and not removed.strip() and not runs[i - 1][0] and not runs[i + 1][0]:
            runs[i][0] = False
    merged = []
    for equal, removed, added in runs:
        if merged and not equal and not merged[-1][0]:
            merged[-1][1] += removed
            merged[-1][2] += added
        else:
            merged.append([equal, removed, added])
    segments = []
    for equal, removed, added in merged:
        if equal:
            segments.append(("equal", removed))
            continue
        if removed:
            segments.append(("delete", removed))
        if added:
            segments.append(("insert", added))
    return segments


def render_diff(segments):
    """The diff as HTML: deletions in <del>, insertions in <ins>, every piece of text escaped.

    Each change also starts with a visually hidden word ("deleted:", "inserted:"),
    since screen readers do not all announce <del> and <ins>.
    """
    labels = {"delete": gettext("deleted:"), "insert": gettext("inserted:")}
    tags = {"delete": "del", "insert": "ins"}

    def piece(op, text):
        if op == "equal":
            return format_html("{}", text)
        return format_html(
            '<{tag}><span class="csto-hidden">{label} </span>{text}</{tag}>',
            tag=tags[op],
            label=labels[op],
            text=text,
        )

    return format_html_join("", "{}", ((piece(op, text),) for op, text in segments))


def diff_counts(segments):
    """(words deleted, words inserted), for a one-line summary above the diff."""
    counts = {"delete": 0, "insert": 0}
    for op, text in segments:
        if op in counts:
            counts[op] += len(text.split())
    return counts["delete"], counts["insert"]


# -- Describing records ----------------------------------------------------------------------


def who(record):
    """The editor who saved ``record``; saves outside a request (imports, scripts) have none."""
    user = record.history_user
    if user is None:
        return gettext("system (import or script)")
    return user.get_full_name() or user.get_username()


def when(record):
    return date_format(timezone.localtime(record.history_date), "DATETIME_FORMAT")


def shown_fields(record):
    """The tracked fields of a historical record worth showing an editor.

    Editable ones (which ``diff_against`` compares), and the few that are not
    editable in a form but are an editor's business: an orphaned position, a merge.
    """
    editable = {f.name for f in record.tracked_fields if f.editable}
    editable |= {f.name for f in record._history_m2m_fields}
    return editable - NOISE_FIELDS, {"orphaned", "merged_into"} & {
        f.name for f in record.tracked_fields
    }


def _other_changes(record, previous, names):
    """ModelChange-like (field, old, new) for fields ``diff_against`` leaves out."""
    changes = []
    for name in names:
        model_field = record.instance_type._meta.get_field(name)
        old = getattr(previous, model_field.attname)
        new = getattr(record, model_field.attname)
        if old == new:
            continue
        if model_field.is_relation:
            related = model_field.related_model._base_manager.in_bulk([v for v in (old, new) if v])
            old, new = related.get(old, old), related.get(new, new)
        changes.append(ModelChange(name, old, new))
    return changes


def _field_order(model):
    return {f.name: i for i, f in enumerate(model._meta.get_fields())}


def display_value(model, name, value):
    """A short, readable form of one field's value (choices by label, objects by name)."""
    model_field = model._meta.get_field(name)
    if model_field.many_to_many:
        target = model_field.m2m_reverse_field_name()
        names = [str(row[target]) for row in value or []]
        return ", ".join(names) or "—"
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if model_field.choices:
        value = dict(model_field.flatchoices).get(value, value)
    elif isinstance(model_field, models.DateTimeField):
        value = date_format(timezone.localtime(value), "DATETIME_FORMAT")
    elif isinstance(model_field, models.DateField):
        value = date_format(value, "DATE_FORMAT")
    return Truncator(str(value)).chars(SHORT_VALUE_LENGTH)


@dataclass
class FieldChange:
    name: str
    label: str
    old: str = ""
    new: str = ""
    long_text: bool = False


def field_changes(record, previous, exclude=()):
    """What changed from ``previous`` to ``record`` (both records of one object), in form order."""
    if previous is None:
        return []
    model = record.instance_type
    compared, others = shown_fields(record)
    delta = record.diff_against(
        previous, included_fields=compared - set(exclude), foreign_keys_are_objs=True
    )
    found = [*delta.changes, *_other_changes(record, previous, others - set(exclude))]
    order = _field_order(model)
    changes = []
    for change in sorted(found, key=lambda c: order.get(c.field, len(order))):
        label = str(model._meta.get_field(change.field).verbose_name)
        if change.field in LONG_TEXT_FIELDS:
            changes.append(FieldChange(change.field, label, long_text=True))
        else:
            changes.append(
                FieldChange(
                    change.field,
                    label,
                    display_value(model, change.field, change.old),
                    display_value(model, change.field, change.new),
                )
            )
    return changes


@dataclass
class Entry:
    """One line of a release's history: a save of the release or of one of its positions."""

    record: object
    previous: object
    is_release: bool
    changes: list = field(default_factory=list)

    @property
    def kind(self):
        return KINDS.get(self.record.history_type, self.record.history_type)

    @property
    def kind_class(self):
        return {"+": "created", "~": "changed", "-": "deleted"}.get(self.record.history_type, "")

    @property
    def who(self):
        return who(self.record)

    @property
    def body_changed(self):
        return any(c.long_text for c in self.changes)


def history_index(release_pk):
    """(date, is release, history_id, previous history_id) of every record, newest first.

    The records of the release and of every position that ever belonged to it
    (deleted ones included). The previous record of a position is looked for
    among all its records, so a position's first record here still has one if it
    came from another release (a merge). Only ids and dates are read: the page
    shown is then fetched in full.
    """
    rows = []
    previous = None
    releases = Release.history.filter(id=release_pk).order_by("history_date", "history_id")
    for history_id, date in releases.values_list("history_id", "history_date"):
        rows.append((date, True, history_id, previous))
        previous = history_id
    position_ids = Position.history.filter(release_id=release_pk).values("id")
    positions = Position.history.filter(id__in=position_ids).order_by("history_date", "history_id")
    last = {}
    for history_id, pk, release_id, date in positions.values_list(
        "history_id", "id", "release_id", "history_date"
    ):
        if release_id == release_pk:
            rows.append((date, False, history_id, last.get(pk)))
        last[pk] = history_id
    rows.sort(key=lambda row: (row[0], row[1], row[2]), reverse=True)
    return rows


def _records(manager, ids):
    return manager.filter(history_id__in=ids).select_related("history_user").in_bulk()


def entries(rows):
    """Entries, with what changed, for index ``rows`` (one page of them)."""
    wanted = {True: set(), False: set()}
    for _date, is_release, history_id, previous in rows:
        wanted[is_release].update(i for i in (history_id, previous) if i is not None)
    found = {
        True: _records(Release.history, wanted[True]),
        False: _records(Position.history, wanted[False]),
    }
    result = []
    for _date, is_release, history_id, previous_id in rows:
        record = found[is_release][history_id]
        previous = found[is_release].get(previous_id)
        changes = field_changes(record, previous) if record.history_type == "~" else []
        result.append(Entry(record, previous, is_release, changes))
    return result


def record_of(release, value):
    """The historical record ``value`` (a history_id from the query string) of ``release``.

    Anything that is not one of this release's records is a 404 with a clear
    reason, never a database error (a 30-digit number would overflow PostgreSQL's
    bigint).
    """
    value = (value or "").strip()
    if not value.isdigit() or len(value) > 18:
        raise Http404(gettext("“%(value)s” is not a version of this release.") % {"value": value})
    record = (
        Release.history.filter(id=release.pk, history_id=int(value))
        .select_related("history_user")
        .first()
    )
    if record is None:
        raise Http404(gettext("Release %(id)s has no version %(value)s.") % {
            "id": release.public_id, "value": value
        })  # fmt: skip
    return record


def text_changes(current, record):
    """[FieldChange] for the text fields a restore of ``record`` would change (body apart)."""
    changes = []
    for name in TEXT_FIELDS:
        if name == "body":
            continue
        old, new = getattr(current, name), getattr(record, name)
        if old != new:
            label = str(Release._meta.get_field(name).verbose_name)
            changes.append(
                FieldChange(
                    name,
                    label,
                    display_value(Release, name, old),
                    display_value(Release, name, new),
                )
            )
    return changes


# -- The admin views -------------------------------------------------------------------------


class ReleaseHistoryMixin:
    """Adds the desk's history pages to ReleaseAdmin: changes, compare, restore."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        urls = [
            path(
                "<path:object_id>/changes/",
                view(self.release_changes_view),
                name="{}_{}_changes".format(*info),
            ),
            path(
                "<path:object_id>/compare/",
                view(self.release_compare_view),
                name="{}_{}_compare".format(*info),
            ),
            path(
                "<path:object_id>/restore/<int:history_id>/",
                view(self.release_restore_view),
                name="{}_{}_restore".format(*info),
            ),
        ]
        # Before the admin's own "<path:object_id>/" catch-all.
        return urls + super().get_urls()

    # -- helpers

    def _history_release(self, request, object_id):
        release = self.get_object(request, object_id)
        if release is None:
            raise Http404(gettext("No release with this identifier."))
        if not self.has_view_permission(request, release):
            raise PermissionDenied
        return release

    def _history_url(self, name, release, *args):
        info = self.opts.app_label, self.opts.model_name
        return reverse(
            f"{self.admin_site.name}:{info[0]}_{info[1]}_{name}",
            args=[quote(release.pk), *args],
        )

    def _history_context(self, request, release, title, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": release,
            "title": title,
            "changes_url": self._history_url("changes", release),
            "change_url": self._history_url("change", release),
            "compare_url": self._history_url("compare", release),
            **extra,
        }

    # -- views

    def release_changes_view(self, request, object_id):
        """Every save of the release and of its positions, newest first, with what changed."""
        release = self._history_release(request, object_id)
        paginator = Paginator(history_index(release.pk), PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        page_entries = entries(page.object_list)
        release_ids = [e.record.history_id for e in page_entries if e.is_release]
        # Preselected for "Compare": the two newest versions of the release on this page.
        default_b = release_ids[0] if release_ids else None
        default_a = release_ids[1] if len(release_ids) > 1 else default_b
        context = self._history_context(
            request,
            release,
            gettext("Changes of release %(id)s") % {"id": release.public_id},
            page=page,
            entries=page_entries,
            default_a=default_a,
            default_b=default_b,
            can_restore=release.editable_by(request.user),
        )
        return TemplateResponse(request, "admin/statements/release/changes.html", context)

    def release_compare_view(self, request, object_id):
        """The text of two versions, word by word (default: the previous against the newest)."""
        release = self._history_release(request, object_id)
        records = Release.history.filter(id=release.pk).select_related("history_user")
        if request.GET.get("b") is not None:
            newer = record_of(release, request.GET["b"])
        else:
            newer = records.order_by("-history_date", "-history_id").first()
            if newer is None:
                raise Http404(gettext("This release has no recorded versions."))
        if request.GET.get("a") is not None:
            older = record_of(release, request.GET["a"])
        else:
            older = newer.prev_record or newer
        if (older.history_date, older.history_id) > (newer.history_date, newer.history_id):
            older, newer = newer, older
        segments = word_diff(older.body, newer.body)
        deleted, inserted = diff_counts(segments)
        context = self._history_context(
            request,
            release,
            gettext("Compare two versions of release %(id)s") % {"id": release.public_id},
            older=older,
            newer=newer,
            older_who=who(older),
            newer_who=who(newer),
            older_when=when(older),
            newer_when=when(newer),
            diff=render_diff(segments),
            same_body=older.body == newer.body,
            deleted=deleted,
            inserted=inserted,
            other_changes=field_changes(newer, older, exclude=["body"]) if older != newer else [],
            can_restore=release.editable_by(request.user),
            restore_url=self._history_url("restore", release, older.history_id),
        )
        return TemplateResponse(request, "admin/statements/release/compare.html", context)

    def release_restore_view(self, request, object_id, history_id):
        """Confirm (GET), then put the text of an earlier version back (POST)."""
        release = self._history_release(request, object_id)
        record = record_of(release, str(history_id))
        if release.status == Release.Status.MERGED:
            self.message_user(
                request,
                gettext(
                    "A merged release cannot be restored: its text lives on in the release it "
                    "was merged into."
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(self._history_url("changes", release))
        if not release.editable_by(request.user):
            raise PermissionDenied
        if request.method == "POST":
            return self._restore(request, release.pk, record)
        identical = all(getattr(release, n) == getattr(record, n) for n in TEXT_FIELDS)
        body_changes = release.body != record.body
        positions = list(Position.objects.filter(release_id=release.pk).order_by("number"))
        outcomes = anchoring.reanchor(record.body, positions) if body_changes else []
        by_number = {p.number: p for p in positions}
        segments = word_diff(release.body, record.body)
        deleted, inserted = diff_counts(segments)
        context = self._history_context(
            request,
            release,
            gettext("Restore an earlier text of release %(id)s") % {"id": release.public_id},
            record=record,
            record_who=who(record),
            record_when=when(record),
            identical=identical,
            body_changes=body_changes,
            diff=render_diff(segments),
            deleted=deleted,
            inserted=inserted,
            other_changes=text_changes(release, record),
            outcomes=[(o, by_number[o.number]) for o in outcomes],
            anchoring_notes=anchoring.messages(outcomes),
            KEPT=anchoring.KEPT,
            MOVED=anchoring.MOVED,
            ORPHANED=anchoring.ORPHANED,
        )
        return TemplateResponse(request, "admin/statements/release/restore.html", context)

    def _restore(self, request, release_pk, record):
        # Loaded fresh, right before the save; the revision the confirmation page showed
        # travels with the form, so a change made since is never silently undone.
        release = Release.objects.get(pk=release_pk)
        if request.POST.get("expected_revision") != str(release.revision):
            self.message_user(
                request,
                gettext(
                    "This release was changed since you opened the confirmation page; nothing "
                    "was restored. Look at the latest change, then restore again if it is "
                    "still needed."
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(self._history_url("changes", release))
        if all(getattr(release, n) == getattr(record, n) for n in TEXT_FIELDS):
            self.message_user(
                request,
                gettext("The text is already that of this version: nothing to restore."),
                messages.INFO,
            )
            return HttpResponseRedirect(self._history_url("change", release))
        for name in TEXT_FIELDS:
            setattr(release, name, getattr(record, name))
        # Kept in the history, so the restore can be told from an ordinary edit.
        release._change_reason = f"restore of history record {record.history_id}"
        try:
            release.save()
        except EditConflict:
            self.message_user(
                request,
                gettext(
                    "Someone else saved this release at the same moment; nothing was restored. "
                    "Look at their change, then restore again if it is still needed."
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(self._history_url("changes", release))
        except ValidationError as error:
            self.message_user(
                request,
                gettext("Nothing was restored: %(reason)s") % {"reason": " ".join(error.messages)},
                messages.ERROR,
            )
            return HttpResponseRedirect(self._history_url("changes", release))
        self.message_user(
            request,
            gettext("Restored the text of %(date)s by %(user)s.")
            % {"date": when(record), "user": who(record)},
            messages.SUCCESS,
        )
        for is_warning, note in anchoring.messages(getattr(release, "anchoring", [])):
            self.message_user(request, note, messages.WARNING if is_warning else messages.INFO)
        return HttpResponseRedirect(self._history_url("change", release))
