"""Migrations: none pending, and every migration runs backwards and forwards."""

from io import StringIO

import pytest
from django.core.management import call_command

from statements.listing_schema import ORDERING_INDEXES
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


def listing_indexes(connection):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        else:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        names = {row[0] for row in cursor.fetchall()}
    ordering = ORDERING_INDEXES[connection.vendor]
    return {name for name in names if "_listing_" in name or name in ordering}


@pytest.mark.django_db
def test_the_listing_ordering_indexes_exist_after_migrating():
    """The indexes the listings page by (migration 0007). SQLite drops an index written in
    raw SQL when it rebuilds a table to add a column (0011 did): gone, every listing
    page sorted all public rows."""
    from django.db import connection

    from statements import listing_schema

    assert listing_indexes(connection) == set(ORDERING_INDEXES[connection.vendor])
    assert listing_schema.missing(connection) == []


@pytest.mark.django_db
def test_walking_the_release_ordering_reads_no_row_on_postgresql():
    """The ordering indexes carry the key (migration 0017): a walk of the newest records'
    keys, as a broad search samples them, is an index-only scan."""
    from django.db import connection

    from statements.filters import RELEASE_NEWEST
    from statements.models import Release
    from statements.paging import order_by

    if connection.vendor != "postgresql":
        pytest.skip("SQLite's indexes hold the rowid")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%%_listing_%%_idx'"
        )
        definitions = dict(cursor.fetchall())
    assert len(definitions) == 4
    assert all("INCLUDE (id)" in d for d in definitions.values()), definitions
    keys = Release.objects.published().order_by(*order_by(RELEASE_NEWEST)).values_list("pk")
    with connection.cursor() as cursor:  # an empty table: make the planner show its options
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    plan = keys[200:400].explain()
    assert "Index Only Scan using release_listing_newest_idx" in plan, plan


@pytest.mark.django_db
def test_a_listing_page_reads_its_ordering_index():
    from django.db import connection

    from statements.filters import POSITION_NEWEST
    from statements.models import Position
    from statements.paging import order_by

    page = Position.objects.filter(is_public=True).order_by(*order_by(POSITION_NEWEST))[:21]
    if connection.vendor == "postgresql":  # an empty table: make the planner show its options
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
    plan = page.explain()
    assert "position_listing_newest_idx" in plan, plan


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migrate_puts_back_a_dropped_ordering_index(capsys):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX position_listing_newest_idx")
    call_command("migrate", verbosity=1, stdout=StringIO())
    assert "position_listing_newest_idx" in listing_indexes(connection)
    assert "Listing indexes were missing" in capsys.readouterr().out


@pytest.mark.django_db
def test_count_lookups_read_the_sums_from_the_index_alone():
    """On PostgreSQL the count table's unique index carries n (migration 0014): a lookup is
    an index-only scan, and the upsert that keeps the sums still finds its arbiter."""
    from django.db import connection

    from statements import counts
    from tests.factories import make_position

    if connection.vendor != "postgresql":
        pytest.skip("INCLUDE is PostgreSQL's (SQLite keeps the plain unique index)")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'statements_facetcount_unique'"
        )
        (definition,) = cursor.fetchone()
    assert definition.endswith("INCLUDE (n)"), definition
    make_position()  # a publication: sums inserted through ON CONFLICT on that index
    assert counts.lookup("p", {}) == 1
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(
            "EXPLAIN SELECT stance, SUM(n) FROM statements_facetcount "
            "WHERE kind = 'ps' AND relay = false GROUP BY stance"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using statements_facetcount_unique" in plan, plan


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migrate_recounts_counts_computed_by_other_code(capsys):
    """The count tables are filled after migrate by today's code (statements.counts.ensure):
    a change of what they count needs no step of its own, and a second migrate with
    nothing changed recounts nothing."""
    from statements import counts, listing
    from statements.models import FacetCount, ListingGeneration
    from tests.factories import make_position

    make_position(topics=list(Topic.objects.filter(slug__in=["syria", "counter-terrorism"])))
    expected = sorted(FacetCount.objects.values_list("kind", "topic", "pair", "stance", "n"))
    assert {"pc", "rc"} <= {row[0] for row in expected}
    FacetCount.objects.filter(kind__in=["pc", "rc"]).delete()  # as before the pair kinds
    ListingGeneration.objects.filter(pk=1).update(counts_version="")
    call_command("migrate", verbosity=1, stdout=StringIO())
    assert "recounted" in capsys.readouterr().out
    assert (
        sorted(FacetCount.objects.values_list("kind", "topic", "pair", "stance", "n")) == expected
    )
    assert ListingGeneration.objects.get(pk=1).counts_version == counts.signature()
    assert listing.drift() == []
    call_command("migrate", verbosity=1, stdout=StringIO())
    assert "recounted" not in capsys.readouterr().out


@pytest.mark.django_db
def test_search_columns_are_written_with_lz4_on_postgresql():
    """Migration 0018: the columns a search reads are compressed with LZ4 (where the server
    has it), and a value written afterwards is stored so."""
    from django.db import connection

    from tests.factories import make_release

    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not compress")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
            "AND 'lz4' = ANY(enumvals)"
        )
        if cursor.fetchone() is None:
            pytest.skip("this PostgreSQL was built without LZ4")
        cursor.execute(
            "SELECT attname, attcompression FROM pg_attribute "
            "WHERE attrelid = 'statements_release'::regclass AND attnum > 0"
        )
        methods = dict(cursor.fetchall())
    assert {methods[c] for c in ("search_vector", "search_folded", "body")} == {"l"}
    letters = "بتثجحخدذرزسشصضطظعغفقكلمنهوي"
    words = [letters[i % 27] + letters[i // 27 % 27] + letters[i // 729 % 27] for i in range(3000)]
    release = make_release(body=" ".join(words))  # a vector large enough to be compressed
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_compression(search_vector), pg_column_compression(body) "
            "FROM statements_release WHERE id = %s",
            [release.pk],
        )
        assert cursor.fetchone() == ("lz4", "lz4")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_listing_entries_get_their_positions_ordering_and_its_index():
    """Migration 0020 fills the entries' new ordering columns from their positions and
    creates their index; migrated back, the index is not wanted (nor put back) any more."""
    from django.db import connection

    from statements import listing, listing_schema
    from statements.models import TopicEntry
    from tests.factories import make_position

    position = make_position(topics=[Topic.objects.get(slug="syria")])
    call_command("migrate", "statements", "0019", verbosity=0)
    assert "topicentry_newest_idx" not in listing_indexes(connection)
    assert listing_schema.missing(connection) == []
    call_command("migrate", verbosity=0)
    entry = TopicEntry.objects.get(position=position)
    assert (entry.release_public_id, entry.number) == (position.release.public_id, 1)
    assert "topicentry_newest_idx" in listing_indexes(connection)
    assert listing.drift() == []
