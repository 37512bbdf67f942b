"""The production server: gunicorn with csto_site/gunicorn.py serves the site."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def test_the_configuration_is_valid():
    result = subprocess.run(
        [str(GUNICORN), "--check-config", "-c", "python:csto_site.gunicorn", "csto_site.wsgi"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_DEBUG": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_gunicorn_serves_the_site_with_the_configured_workers(tmp_path):
    if not GUNICORN.exists():
        pytest.fail("gunicorn is a dependency: it should be installed next to this Python")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_DEBUG="1",
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(GUNICORN), "-c", "python:csto_site.gunicorn", "csto_site.wsgi"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not answer: " + (tmp_path / "gunicorn.log").read_text())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    output = (tmp_path / "gunicorn.log").read_text()
    assert output.count("Booting worker") == 2, output
    assert '"GET /healthz/ HTTP/1.1" 200' in output  # the access log, on stdout


@pytest.mark.parametrize(("given", "kept"), [(None, "60"), ("0", "0"), ("300", "300")])
def test_gunicorn_keeps_database_connections_unless_told_not_to(given, kept):
    """Served by gunicorn, each thread keeps its connection between requests (a new
    PostgreSQL connection a request cost ~5 ms of CPU); DATABASE_CONN_MAX_AGE decides."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_CONN_MAX_AGE"}
    if given is not None:
        env["DATABASE_CONN_MAX_AGE"] = given
    code = (
        "import os, runpy; runpy.run_path('csto_site/gunicorn.py');"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'csto_site.settings';"
        "from django.conf import settings;"
        "print(os.environ['DATABASE_CONN_MAX_AGE'], settings.DATABASES['default']['CONN_MAX_AGE'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [kept, kept]
