"""Plain factories: make_* functions with sensible defaults, overridable by keyword."""

import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from statements.models import Position, Release, Source, Topic

_counter = itertools.count(1)

BODY = (
    "أعربت بلدان منظمة معاهدة الأمن الجماعي عن تأييدها لجهود التسوية السياسية في سورية.\n"
    "وأكدت المنظمة دعمها لسيادة الدول ووحدة أراضيها."
)


def make_source(**kwargs):
    n = next(_counter)
    defaults = {"name": f"مصدر {n}", "name_en": f"Source {n}", "slug": f"source-{n}"}
    return Source.objects.create(**{**defaults, **kwargs})


def make_topic(**kwargs):
    n = next(_counter)
    defaults = {
        "slug": f"topic-{n}",
        "name_ar": f"موضوع {n}",
        "name_en": f"Topic {n}",
        "kind": Topic.Kind.THEME,
    }
    return Topic.objects.create(**{**defaults, **kwargs})


def make_release(**kwargs):
    if "source" not in kwargs:
        kwargs["source"] = make_source()
    defaults = {"body": BODY, "status": Release.Status.PUBLISHED}
    return Release.objects.create(**{**defaults, **kwargs})


def make_position(release=None, quote=None, topics=(), **kwargs):
    release = release or make_release()
    quote = quote or release.body.split("\n")[0][:30].strip()
    start = release.body.index(quote)
    defaults = {
        "release": release,
        "start": start,
        "end": start + len(quote),
        "quote": quote,
        "stance": Position.Stance.SUPPORTS,
        "summary": "ملخص الموقف",
    }
    position = Position(**{**defaults, **kwargs})
    position.save()
    if topics:
        position.topics.set(topics)
    return position


def make_user(*groups, **kwargs):
    n = next(_counter)
    user = get_user_model().objects.create_user(
        username=kwargs.pop("username", f"user{n}"),
        password=kwargs.pop("password", "a-long-test-password"),
        is_staff=kwargs.pop("is_staff", True),
        **kwargs,
    )
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


def release_form_data(release, with_positions=True, **changes):
    """The admin change form's POST data for ``release`` (and its positions), with ``changes``.

    Without positions it is a page posted with no inline forms, as a script might send.
    """
    positions = list(release.positions.order_by("start", "number")) if with_positions else []
    data = {
        "expected_revision": release.revision,
        "status": release.status,
        "withdrawal_reason": release.withdrawal_reason,
        "title": release.title,
        "section_label": release.section_label,
        "dateline": release.dateline,
        "body": release.body,
        "source": release.source_id,
        "url": release.url,
        "archived_url": release.archived_url,
        "issuing_body": release.issuing_body,
        "published_on": release.published_on.isoformat() if release.published_on else "",
        "published_precision": release.published_precision,
        "statement_on": release.statement_on.isoformat() if release.statement_on else "",
        "statement_precision": release.statement_precision,
        "positions-TOTAL_FORMS": len(positions),
        "positions-INITIAL_FORMS": len(positions),
        "positions-MIN_NUM_FORMS": 0,
        "positions-MAX_NUM_FORMS": 1000,
    }
    if release.published_inferred:
        data["published_inferred"] = "on"
    for i, p in enumerate(positions):
        data.update(
            {
                f"positions-{i}-id": p.pk,
                f"positions-{i}-expected_revision": p.revision,
                f"positions-{i}-release": release.pk,
                f"positions-{i}-stance": p.stance,
                f"positions-{i}-attribution": p.attribution,
                f"positions-{i}-start": p.start,
                f"positions-{i}-end": p.end,
                f"positions-{i}-quote": p.quote,
                f"positions-{i}-topics": [t.pk for t in p.topics.all()],
                f"positions-{i}-summary": p.summary,
                f"positions-{i}-note": p.note,
            }
        )
    data.update(changes)
    return data


def position_form_data(position, **changes):
    """The Position admin change form's POST data for ``position``, with ``changes``."""
    data = {
        "expected_revision": position.revision,
        "start": position.start,
        "end": position.end,
        "quote": position.quote,
        "stance": position.stance,
        "attribution": position.attribution,
        "summary": position.summary,
        "note": position.note,
        "topics": [t.pk for t in position.topics.all()],
    }
    data.update(changes)
    return data


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def run_action(client, action, *releases):
    """Run a release changelist action on ``releases`` as ``client``'s user."""
    return client.post(
        admin_url(Release, "changelist"),
        {"action": action, "_selected_action": [r.pk for r in releases]},
    )


def close_response(response):
    """Close a response as a WSGI server does once it is sent (an export gives back its
    slot), keeping the test's database connection open: closing fires request_finished,
    whose handler would close a connection that is inside the test's transaction (Django's
    test client keeps it open the same way for the responses it closes itself)."""
    from unittest import mock

    from django.db.backends.base.base import BaseDatabaseWrapper

    with mock.patch.object(BaseDatabaseWrapper, "close_if_unusable_or_obsolete"):
        response.close()
