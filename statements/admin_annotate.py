"""Annotation by selection: the editor selects a passage of the text and records its position.

The page shows the release's text as readable right-to-left Arabic, with the
recorded positions highlighted (overlaps visible) and listed beside it.
``static/js/annotate.js`` turns a selection into code point offsets, snapped
to word boundaries, and posts them with the exact quote. Everything is
checked here again, by the same form and model rules as the admin's inline
form: the quote must be the text at the offsets, not start or end inside a
letter, and the text must still be the one the editor selected in (its
fingerprint travels with the form). A refusal is a message, never a guess.

Without JavaScript the page still shows the text and its positions, and the
form posts normally; the change page's inline form remains the plain way.
"""

import itertools
import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import analysis, text
from .forms import RTL_TEXTAREA, SanitizingFormMixin
from .models import EditConflict, Position, Release, Topic

# Keys 1–9 choose a stance in the panel (in this order; shown beside each choice).
STANCE_KEYS = {stance: str(n) for n, stance in enumerate(Position.Stance.values, start=1)}
TOPIC_RESULTS = 12


class AnnotationForm(SanitizingFormMixin, forms.ModelForm):
    """One position, recorded from a selection (or changed, when ``instance`` exists)."""

    sanitized_fields = ("note",)
    single_line_fields = ("summary",)
    expected_revision = forms.IntegerField(widget=forms.HiddenInput, required=False)
    text_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)

    class Meta:
        model = Position
        fields = ["start", "end", "quote", "stance", "topics", "summary", "attribution", "note"]
        widgets = {
            "start": forms.NumberInput(attrs={"min": 0, "class": "offset"}),
            "end": forms.NumberInput(attrs={"min": 1, "class": "offset"}),
            "quote": forms.Textarea(attrs={**RTL_TEXTAREA, "rows": 3}),
            "stance": forms.RadioSelect,
            "topics": forms.SelectMultiple(attrs={"size": 8}),
            "summary": forms.TextInput(attrs={**RTL_TEXTAREA, "size": 50}),
            "note": forms.Textarea(attrs={**RTL_TEXTAREA, "rows": 2}),
        }

    def __init__(self, *args, release, **kwargs):
        super().__init__(*args, **kwargs)
        self.release = release
        self.instance.release = release
        self.fields["quote"].strip = False  # the quote is compared with the text exactly
        self.fields["topics"].queryset = Topic.objects.order_by("kind", "name_ar")
        self.fields["topics"].help_text = _("Search the codebook by Arabic or English name.")
        self.fields["text_sha256"].initial = release.body_sha256
        if self.instance.pk is not None:
            self.fields["expected_revision"].initial = self.instance.revision

    def clean_quote(self):
        # A textarea posts line breaks as CRLF; the canonical text has LF. Nothing else changes.
        return self.cleaned_data["quote"].replace("\r\n", "\n").replace("\r", "\n")

    def clean(self):
        cleaned = super().clean()  # sanitizes summary and note, noting what changed
        if cleaned.get("text_sha256") and cleaned["text_sha256"] != self.release.body_sha256:
            raise forms.ValidationError(
                gettext(
                    "The text was changed since you opened this page, so the selection may no "
                    "longer be where you made it. Nothing was saved: reload the page and select "
                    "the passage again."
                ),
                code="text_changed",
            )
        if self.instance.pk is not None:
            expected = cleaned.get("expected_revision")
            current = (
                Position.objects.filter(pk=self.instance.pk)
                .values_list("revision", flat=True)
                .first()
            )
            if expected is None or current != expected:
                raise forms.ValidationError(
                    gettext(
                        "Someone else changed this position since you opened the page. Nothing "
                        "was saved: reload the page to see their change."
                    ),
                    code="conflict",
                )
            self.instance.revision = expected
        return cleaned


def segments(body, positions):
    """The text cut where a passage starts or ends, and around invisible marks.

    [(start, text, [position numbers covering it], invisible name or "")], in order;
    offsets in code points. Orphaned positions have no passage and are left out.
    """
    cuts = {0, len(body)}
    placed = [p for p in positions if not p.orphaned]
    for p in placed:
        cuts.update((p.start, p.end))
    for i, ch in enumerate(body):
        if ch in text.INVISIBLE_KEPT:
            cuts.update((i, i + 1))
    bounds = sorted(c for c in cuts if 0 <= c <= len(body))
    runs = []
    for a, b in itertools.pairwise(bounds):
        covering = [p.number for p in placed if p.start <= a and b <= p.end]
        piece = body[a:b]
        mark = text.INVISIBLE_KEPT.get(piece, "")
        runs.append(
            {
                "start": a,
                "text": piece,
                "numbers": " ".join(map(str, covering)),
                "depth": min(len(covering), 3),
                "mark": mark,
                "mark_title": text.char_name(piece) if mark else "",
            }
        )
    return runs


def position_data(position):
    return {
        "id": position.pk,
        "number": position.number,
        "start": position.start,
        "end": position.end,
        "quote": position.quote,
        "stance": position.stance,
        "attribution": position.attribution,
        "summary": position.summary,
        "note": position.note,
        "revision": position.revision,
        "orphaned": position.orphaned,
        "topics": [{"id": t.pk, "label": topic_label(t)} for t in position.topics.all()],
    }


def topic_label(topic):
    return f"{topic.name_ar} — {topic.name_en}" if topic.name_en else topic.name_ar


def matching_topics(query, limit=TOPIC_RESULTS):
    """Codebook topics whose Arabic name, English name or an alias contains ``query``,
    whatever its spelling (hamza, ta marbuta, diacritics: statements.analysis.fold)."""
    folded = loose(query.strip())
    lowered = query.strip().casefold()
    if not folded and not lowered:
        return []
    found = []
    for topic in Topic.objects.order_by("kind", "name_ar"):
        names = [topic.name_ar, *topic.alias_list]
        if any(folded and folded in loose(name) for name in names) or (
            lowered and lowered in topic.name_en.casefold()
        ):
            found.append(topic)
            if len(found) >= limit:
                break
    return found


def loose(name):
    """A name as the search matches it: diacritics and tatweel off, hamza forms of alef
    as alef, ta marbuta as ha, alef maqsura as ya (statements.analysis)."""
    return " ".join(analysis._fold_letters(w) for w in analysis.fold(name).split())


class AnnotationAdminMixin:
    """The annotation page and its endpoints, for ReleaseAdmin."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/annotate/",
                view(self.annotate_view),
                name="statements_release_annotate",
            ),
            path(
                "<path:object_id>/annotate/delete/",
                view(self.annotate_delete_view),
                name="statements_release_annotate_delete",
            ),
            path(
                "annotate/topics/",
                view(self.annotate_topics_view),
                name="statements_release_annotate_topics",
            ),
            *super().get_urls(),
        ]

    def _annotated_release(self, request, object_id):
        try:
            release = get_object_or_404(Release, pk=int(object_id))
        except ValueError:
            raise Http404(gettext("No such release.")) from None
        if not self.has_view_permission(request, release):
            raise PermissionDenied
        return release

    def _check_editable(self, request, release, permission):
        if not (release.editable_by(request.user) and request.user.has_perm(permission)):
            raise PermissionDenied

    def annotate_view(self, request, object_id):
        release = self._annotated_release(request, object_id)
        if request.method == "POST":
            return self._save_position(request, release)
        form = AnnotationForm(release=release)
        return TemplateResponse(
            request,
            "admin/statements/release/annotate.html",
            self._annotation_context(request, release, form),
        )

    def _annotation_context(self, request, release, form):
        positions = list(release.positions.prefetch_related("topics").order_by("start", "number"))
        can_edit = release.editable_by(request.user) and request.user.has_perm(
            "statements.add_position"
        )
        return {
            **self.admin_site.each_context(request),
            "title": gettext("Annotate: %(title)s") % {"title": release.display_title},
            "opts": self.model._meta,
            "original": release,
            "release": release,
            "form": form,
            "can_edit": can_edit,
            "runs": segments(release.body, positions),
            "positions": positions,
            "orphans": [p for p in positions if p.orphaned],
            "stance_keys": [
                (value, label, STANCE_KEYS[value]) for value, label in Position.Stance.choices
            ],
            "annotation_data": {
                "body": release.body,
                "positions": [position_data(p) for p in positions],
                "topicsUrl": reverse("admin:statements_release_annotate_topics"),
                "deleteUrl": reverse("admin:statements_release_annotate_delete", args=[release.pk]),
                "stanceKeys": STANCE_KEYS,
            },
        }

    def _fragments(self, request, release):
        context = self._annotation_context(request, release, AnnotationForm(release=release))
        return {
            "text_html": render_to_string(
                "admin/statements/release/annotate_text.html", context, request
            ),
            "list_html": render_to_string(
                "admin/statements/release/annotate_list.html", context, request
            ),
            "positions": context["annotation_data"]["positions"],
        }

    def _respond(self, request, release, *, ok, message, errors=None, status=200):
        if wants_json(request):
            payload = {"ok": ok, "message": message}
            if errors is not None:
                payload["errors"] = errors
            if ok:
                payload.update(self._fragments(request, release))
            return JsonResponse(payload, status=status)
        self.message_user(request, message, messages.SUCCESS if ok else messages.ERROR)
        return HttpResponseRedirect(reverse("admin:statements_release_annotate", args=[release.pk]))

    def _save_position(self, request, release):
        existing = request.POST.get("position")
        position = None
        if existing:
            position = release.positions.filter(pk=existing if existing.isdigit() else 0).first()
            if position is None:
                return self._respond(
                    request,
                    release,
                    ok=False,
                    message=gettext("This position is not in this release (deleted?)."),
                    status=404,
                )
            self._check_editable(request, release, "statements.change_position")
        else:
            self._check_editable(request, release, "statements.add_position")
        form = AnnotationForm(request.POST, instance=position, release=release)
        if not form.is_valid():
            if not wants_json(request):
                context = self._annotation_context(request, release, form)
                return TemplateResponse(
                    request, "admin/statements/release/annotate.html", context, status=400
                )
            errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            first = next(iter(form.errors.values()))[0]
            return self._respond(
                request,
                release,
                ok=False,
                message=gettext("Not saved: %(reason)s") % {"reason": first},
                errors=errors,
                status=400,
            )
        try:
            with transaction.atomic():
                saved = form.save()
        except EditConflict:
            return self._respond(
                request,
                release,
                ok=False,
                message=gettext(
                    "Someone else changed this position at the same moment. Nothing was "
                    "saved: reload the page to see their change."
                ),
                status=409,
            )
        done = (
            gettext("Position #p%(n)s saved.")
            if position
            else gettext("Position #p%(n)s recorded.")
        )
        message = " ".join(
            [done % {"n": saved.number}]
            + [gettext("Sanitation: %(note)s") % {"note": n} for n in form.sanitation_notes]
        )
        return self._respond(request, release, ok=True, message=message)

    def annotate_delete_view(self, request, object_id):
        release = self._annotated_release(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(
                reverse("admin:statements_release_annotate", args=[release.pk])
            )
        self._check_editable(request, release, "statements.delete_position")
        pk = request.POST.get("position", "")
        position = release.positions.filter(pk=pk if pk.isdigit() else 0).first()
        if position is None:
            return self._respond(
                request, release, ok=False, message=gettext("No such position."), status=404
            )
        expected = request.POST.get("expected_revision", "")
        if not expected.isdigit() or int(expected) != position.revision:
            return self._respond(
                request,
                release,
                ok=False,
                message=gettext(
                    "Someone else changed this position since you opened the page; it was not "
                    "deleted. Reload the page to see their change."
                ),
                status=409,
            )
        number = position.number
        position.delete()
        return self._respond(
            request, release, ok=True, message=gettext("Position #p%(n)s deleted.") % {"n": number}
        )

    def annotate_topics_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        query = request.GET.get("q", "")[:100]
        return JsonResponse(
            {
                "results": [
                    {"id": t.pk, "label": topic_label(t), "kind": t.get_kind_display()}
                    for t in matching_topics(query)
                ]
            }
        )


def wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


def annotation_json(data):
    return json.dumps(data, ensure_ascii=False)
