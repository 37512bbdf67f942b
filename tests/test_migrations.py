"""Migrations: none pending, and every migration runs backwards and forwards."""

from io import StringIO

import pytest
from django.core.management import call_command

from statements.models import Topic


@pytest.mark.django_db
def test_no_pending_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migrations_run_backwards_and_forwards():
    call_command("migrate", "statements", "zero", verbosity=0)
    call_command("migrate", verbosity=0)
    assert Topic.objects.filter(slug="syria").exists()
    call_command("migrate", "statements", "0001", verbosity=0)
    assert not Topic.objects.exists()
    call_command("migrate", verbosity=0)
    assert Topic.objects.count() >= 30


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reversing_the_codebook_keeps_topics_in_use():
    from tests.factories import make_position

    syria = Topic.objects.get(slug="syria")
    make_position(topics=[syria])
    call_command("migrate", "statements", "0001", verbosity=0)
    # The used topic stays, and so does its parent; unused ones go.
    assert set(Topic.objects.values_list("slug", flat=True)) == {"syria", "middle-east"}
    call_command("migrate", verbosity=0)
    assert Topic.objects.count() >= 30


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_fresh_install_has_its_search_index_without_repair(capsys):
    from django.db import connection

    from statements import search_schema

    call_command("migrate", "statements", "zero", verbosity=0)
    capsys.readouterr()
    call_command("migrate", verbosity=1, stdout=StringIO())
    assert "were missing" not in capsys.readouterr().out
    assert search_schema.missing(connection) == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_releases_published_before_versions_get_their_first_version():
    from statements.models import ReleaseVersion
    from tests.factories import make_position

    position = make_position(topics=[Topic.objects.get(slug="syria")])
    call_command("migrate", "statements", "0007", verbosity=0)
    call_command("migrate", verbosity=0)
    version = ReleaseVersion.objects.get(release=position.release)
    assert version.number == 1 and version.changes == [["published", ""]]
    assert version.snapshot["body"] == position.release.body
    assert version.snapshot["positions"][0]["quote"] == position.quote
    assert version.snapshot["positions"][0]["topics"] == ["syria"]
