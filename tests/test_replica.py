"""The replica router: anonymous readers' queries go to the replica, everything else to
the primary.

The routing decisions are tested directly. The traffic itself is tested with a
``replica`` alias that mirrors the default test database (Django's TEST MIRROR,
as a streaming replica would): that needs ``DATABASE_REPLICA_URL`` at start-up,
so :func:`test_the_mirror_suite_runs` runs this file again in a subprocess with
it set (on the same database engine as this run).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from statements.models import Release
from statements.routers import REPLICA, ReplicaRouter, _reader
from tests.factories import admin_url, make_position, make_release, make_topic, make_user

ROOT = Path(__file__).resolve().parents[1]
WITH_REPLICA = {**settings.DATABASES, REPLICA: {**settings.DATABASES["default"]}}


class TestDecisions:
    def test_without_a_replica_everything_reads_the_primary(self):
        token = _reader.set(True)
        try:
            assert ReplicaRouter().db_for_read(Release) == "default"
        finally:
            _reader.reset(token)

    @override_settings(DATABASES=WITH_REPLICA)
    def test_readers_read_the_replica_and_nobody_writes_there(self):
        router = ReplicaRouter()
        assert router.db_for_read(Release) == "default"  # no request: commands, scripts
        token = _reader.set(True)
        try:
            assert router.db_for_read(Release) == REPLICA
            assert router.db_for_write(Release) == "default"
        finally:
            _reader.reset(token)
        assert router.allow_migrate("default", "statements") is True
        assert router.allow_migrate(REPLICA, "statements") is False


mirror = pytest.mark.skipif(
    REPLICA not in settings.DATABASES, reason="needs DATABASE_REPLICA_URL (run by a subprocess)"
)


@mirror
@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=["default", REPLICA])
class TestMirror:
    """Run with a ``replica`` alias that mirrors the default test database; transactional,
    because a replica sees only committed data."""

    def queries(self, alias, do):
        with CaptureQueriesContext(connections[alias]) as captured:
            response = do()
        return response, [q["sql"] for q in captured.captured_queries]

    def test_an_anonymous_reader_reads_from_the_replica(self):
        release = make_release()
        make_position(release, quote="سورية", topics=[make_topic()])
        response, on_replica = self.queries(
            REPLICA, lambda: Client().get(release.get_absolute_url())
        )
        assert response.status_code == 200
        assert any("statements_release" in sql for sql in on_replica)
        _response, on_primary = self.queries(
            "default", lambda: Client().get(release.get_absolute_url() + "?again=1")
        )
        assert not any("statements_release" in sql for sql in on_primary)

    def test_a_streamed_export_reads_from_the_replica(self):
        make_position(make_release(), quote="سورية", topics=[make_topic()])

        def export():
            response = Client().get("/positions/export.csv")
            return response, b"".join(response.streaming_content)

        (response, body), on_replica = self.queries(REPLICA, export)
        assert response.status_code == 200 and "سورية".encode() in body
        assert any("statements_position" in sql for sql in on_replica)

    def test_a_readers_search_plans_are_set_on_the_replica(self):
        """search.plans() sets the planner where the search's queries run."""
        make_position(make_release(body="قال إن سورية تدعم الحوار."), quote="سورية")
        response, on_replica = self.queries(REPLICA, lambda: Client().get("/releases/?q=سورية"))
        assert response.status_code == 200
        assert any("statements_release" in sql for sql in on_replica)
        _response, on_primary = self.queries(
            "default", lambda: Client().get("/releases/?q=سورية&again=1")
        )
        assert not any("set_config" in sql for sql in on_primary)
        if connections[REPLICA].vendor == "postgresql":
            assert any("set_config" in sql for sql in on_replica)

    def test_editors_and_writes_use_the_primary(self):
        release = make_release(status=Release.Status.DRAFT)
        client = Client()
        client.force_login(make_user("editors"))
        response, on_replica = self.queries(
            REPLICA, lambda: client.get(admin_url(Release, "change", release.pk))
        )
        assert response.status_code == 200
        assert on_replica == []
        _response, on_replica = self.queries(
            REPLICA, lambda: client.get(release.get_absolute_url())
        )
        assert on_replica == []  # an editor's view of the public site: the primary too


def test_the_mirror_suite_runs():
    """Run TestMirror in a fresh process whose settings have the replica alias."""
    if REPLICA in settings.DATABASES:
        pytest.skip("this process already has the replica alias")
    default = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    if default["ENGINE"] == "django.db.backends.sqlite3":
        # Tests on SQLite run in memory: the subprocess has its own database anyway.
        env["DATABASE_REPLICA_URL"] = "sqlite:///" + str(ROOT / ".local" / "replica-unused.sqlite3")
    else:
        env["DATABASE_REPLICA_URL"] = os.environ["DATABASE_URL"]
        # Its own test database: this run's may be open (PostgreSQL refuses to drop it).
        env["DATABASE_TEST_NAME"] = "test_csto_replica_check"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-k", "TestMirror", "-q",
         "-p", "no:cacheprovider", "--create-db"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout, result.stdout[-2000:]
