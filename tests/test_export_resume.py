"""An export survives a lost database connection (a restart, a failover): it goes on
from its last row, every row once; or, when it cannot, it is cut off visibly.

The connection is lost for real: its PostgreSQL backend is terminated, as a restart
terminates every backend. (SQLite is a file: it has no connection to lose.)
"""

import json

import pytest
from django.db import DatabaseError, connection

from statements import exports
from tests.factories import make_position, make_release, make_source, make_topic

pytestmark = [
    # (serialized_rollback: the flush after the test puts back what the migrations ship)
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a server connection to lose"),
]


@pytest.fixture(autouse=True)
def usable_connection():
    """A connection this test left broken is dropped before the database is flushed."""
    yield
    if not connection.is_usable():
        connection.close()


@pytest.fixture
def corpus(monkeypatch):
    """Seven releases (one undated, two on the same day) of three positions each, read
    two records at a time: the export crosses chunks, a tie and the undated ones."""
    monkeypatch.setattr(exports, "CHUNK", 2)
    monkeypatch.setattr(exports, "PIECE", 1)  # each row sent as it is written: cut anywhere
    source = make_source()
    topics = [make_topic(slug=f"topic-{c}") for c in "abc"]
    dates = ["2019-05-01", "2021-03-02", "2021-03-02", None, "2015-01-01", "2024-07-07", "2001"]
    for i, date in enumerate(dates):
        precision = {None: "unknown", 4: "year"}.get(date and len(date), "day")
        release = make_release(
            source=source,
            title=f"بيان {i}",
            body="منظمة معاهدة الأمن الجماعي " * 4,
            published_on=f"{date}-01-01" if precision == "year" else date,
            published_precision=precision,
        )
        for j in range(3):
            make_position(
                release, quote="منظمة", start=27 * j, end=27 * j + 5, topics=topics[: j + 1]
            )


def lose_connection():
    """End this process's database session from the server's side."""
    with pytest.raises(DatabaseError):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def pieces(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return iter(response.streaming_content)


@pytest.mark.parametrize("listing", ["positions", "releases"])
@pytest.mark.parametrize("cut_after", [1, 2, 4, 8])
def test_an_export_goes_on_after_the_connection_is_lost(client, corpus, listing, cut_after):
    url = f"/{listing}/export.json"
    whole = b"".join(pieces(client, url))
    stream = pieces(client, url)
    sent = [next(stream) for _ in range(cut_after)]  # "[" then rows
    lose_connection()
    sent += list(stream)
    assert b"".join(sent) == whole
    rows = json.loads(whole)
    assert len(rows) == (21 if listing == "positions" else 7)


def test_an_export_ranked_by_relevance_is_cut_off(client, corpus):
    """No keyed order to go on from: the download ends in an error, never looking whole."""
    stream = pieces(client, "/positions/export.json?q=منظمة")
    next(stream), next(stream)
    lose_connection()
    with pytest.raises(DatabaseError):
        list(stream)


def test_an_export_whose_database_stays_away_is_cut_off(client, corpus, settings, monkeypatch):
    settings.EXPORT_RESUME_SECONDS = 1
    stream = pieces(client, "/positions/export.json")
    next(stream), next(stream)
    lose_connection()
    # Nothing listens there: every attempt to reconnect within the second fails.
    monkeypatch.setitem(connection.settings_dict, "PORT", "9")
    with pytest.raises(DatabaseError):
        list(stream)


def test_an_export_told_not_to_wait_is_cut_off(client, corpus, settings):
    settings.EXPORT_RESUME_SECONDS = 0
    stream = pieces(client, "/releases/export.csv")
    next(stream), next(stream)
    lose_connection()
    with pytest.raises(DatabaseError):
        list(stream)


def open_cursors():
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_holdable FROM pg_cursors")
        return [holdable for (holdable,) in cursor.fetchall()]


def test_an_export_reads_its_rows_as_it_sends_them(client, corpus):
    """Not from a cursor held past its transaction, which PostgreSQL writes whole to a
    temporary file before the first row; and the connection is given back as it was."""
    url = "/releases/export.csv"
    stream = pieces(client, url)
    next(stream), next(stream), next(stream)
    assert open_cursors() == [False]
    rest = list(stream)
    assert rest  # (the rows after the cursor was looked at)
    assert connection.get_autocommit()
    assert open_cursors() == []
    stream = pieces(client, url)
    assert b"".join(stream).count(b"\r\n") == 8  # the header and the seven releases


@pytest.mark.parametrize("read", [0, 3])
def test_an_export_closed_early_gives_its_connection_back(client, corpus, read):
    """A reader who goes away (the server closes the response) leaves no transaction or
    cursor open on the thread's connection, which the next request uses."""
    response = client.get("/positions/export.json")
    stream = iter(response.streaming_content)
    for _ in range(read):
        next(stream)
    response.close()
    assert connection.get_autocommit()
    assert open_cursors() == []
    assert client.get("/positions/").status_code == 200


def test_an_export_resumed_reads_on_in_a_transaction_of_its_own(client, corpus):
    stream = pieces(client, "/positions/export.json")
    next(stream), next(stream)
    lose_connection()
    next(stream), next(stream)  # the rest of the chunk read, then the next one: resumed
    assert open_cursors() == [False]
    list(stream)
    assert connection.get_autocommit()
