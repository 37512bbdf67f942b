"""Load and fault tests: mixed reader traffic against gunicorn + PostgreSQL (a script).

    .venv/bin/pip install -e ".[bench]"      # locust
    .venv/bin/python manage.py generate_corpus --releases 100000   # on DATABASE_URL
    .venv/bin/python bench/load.py --database-url postgres://postgres@127.0.0.1:5432/csto_100k
    .venv/bin/python bench/load.py --database-url ... --editors 3
    .venv/bin/python bench/load.py --database-url ... --editors 3 --restart-postgres-at 20

It serves the site with gunicorn (csto_site/gunicorn.py, production settings, the
Redis cache when --redis-url is given) on a free port of 127.0.0.1, runs locust
headless for --seconds with --users readers (bench/locustfile.py: listings with
random filters, searches, release pages, permalinks, exports, feeds; 1–3 s between
a reader's requests) and prints throughput, p50 / p95 / p99 and the errors.

--editors N: N editors save releases through the admin at the same time
(bench/editors.py), then the database is checked: no acknowledged edit lost, no
refused one written, every quote at its offsets, listing copies in step.

--restart-postgres-at T: T seconds in, PostgreSQL is restarted
(pg_ctlcluster 15 main restart); the script reports how long the site answered 503
and that it recovered without any manual step.

Only traffic to 127.0.0.1. Exits non-zero when a check fails: errors other than the
expected 503s, p95 above --p95-target, a lost edit, or no recovery.
"""

import argparse
import csv
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import cpu  # noqa: E402

BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(args):
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DJANGO_DEBUG": "",
        "DJANGO_SECRET_KEY": "load-test-" + secrets.token_hex(32),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "CSTO_PLAIN_STATIC": "1",
        "DJANGO_SETTINGS_MODULE": "csto_site.settings",
    }
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
        env["CSTO_CACHE_PREFIX"] = "load"
    for setting in args.server_env:
        name, _, value = setting.partition("=")
        env[name] = value
    return env


def status_of(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def wait_until(url, want=200, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if status_of(url) == want:
            return True
        time.sleep(0.25)
    return False


def watch_restart(base, at, report):
    """Restart PostgreSQL ``at`` seconds in; record what /healthz/ and a page answered."""
    time.sleep(at)
    started = time.monotonic()
    done = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    report["restart_seconds"] = time.monotonic() - started
    report["restart_rc"] = done.returncode
    report["restart_error"] = done.stderr.strip()
    seen, first_ok = set(), None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        code = status_of(f"{base}/releases/?stance=affirms&_={time.monotonic()}")
        seen.add(code)
        if code == 200:
            first_ok = time.monotonic() - started
            break
        time.sleep(0.2)
    report["seen_during_restart"] = sorted(str(c) for c in seen)
    report["recovered_after"] = first_ok


def add_server_options(parser):
    """The options both this script and bench/cost.py give the server they start."""
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE",
        help="an environment variable for the server (repeatable), e.g. DATABASE_CONN_MAX_AGE=0",
    )  # fmt: skip


def published_archive(args):
    """Django set up on the server's environment; (that environment, the published
    releases, their largest public identifier)."""
    env = server_env(args)
    os.environ.update(env)
    import django

    django.setup()
    from statements.models import Release

    published = Release.objects.published()
    max_id = published.order_by("-public_id").values_list("public_id", flat=True).first()
    if max_id is None:
        raise SystemExit("no published release: run manage.py generate_corpus first")
    print(f"{published.count():,} published releases; identifiers up to {max_id:,}")
    print_server_settings()
    return env, published, max_id


# PostgreSQL's settings that the figures depend on: with the default shared_buffers
# (128 MB) a 100,000-release archive was read from the operating system's cache, or the
# disk, at every request (README, production checklist; bench/RESULTS.md, twelfth run).
SERVER_SETTINGS = ("shared_buffers", "effective_cache_size", "work_mem", "max_connections")


def print_server_settings():
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        shown = []
        for name in SERVER_SETTINGS:
            cursor.execute(f"SHOW {name}")  # (names from the tuple above)
            shown.append(f"{name} {cursor.fetchone()[0]}")
    print("PostgreSQL: " + ", ".join(shown))


def read_stats(prefix):
    rows = list(csv.DictReader(Path(f"{prefix}_stats.csv").open(encoding="utf-8")))
    failures = list(csv.DictReader(Path(f"{prefix}_failures.csv").open(encoding="utf-8")))
    return rows, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_options(parser)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (default: its config)"
    )
    parser.add_argument(
        "--client", choices=["requests", "fast"], default="requests",
        help="locust's HTTP client: HttpUser (default) or FastHttpUser (bench/locustfile.py)",
    )  # fmt: skip
    parser.add_argument("--editors", type=int, default=0)
    parser.add_argument("--edited-releases", type=int, default=6)
    parser.add_argument("--restart-postgres-at", type=float, default=None)
    parser.add_argument("--p95-target", type=float, default=200.0, help="ms")
    args = parser.parse_args()

    env, published, max_id = published_archive(args)
    from django.conf import settings

    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    work = Path(tempfile.mkdtemp(prefix="csto-load-"))
    server_env_vars = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": str(work / "access.log"),
        "GUNICORN_ERROR_LOG": str(work / "error.log"),
    }
    if args.workers:
        server_env_vars["WEB_CONCURRENCY"] = str(args.workers)
    app_log = (work / "app.log").open("w")  # the application's own log (Django's, stderr)
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "csto_site/gunicorn.py", "csto_site.wsgi"],
        cwd=ROOT, env=server_env_vars, stderr=app_log,
    )  # fmt: skip
    report, editor_threads, outcomes = {}, [], None
    try:
        if not wait_until(f"{base}/healthz/"):
            raise SystemExit(f"gunicorn did not answer; see {work}/error.log")
        if args.editors:
            from bench import editors

            password = secrets.token_urlsafe(16)
            (work / "password").write_text(password)
            subprocess.run(
                [sys.executable, "manage.py", "ensure_admin", "load-editor", "--password-file",
                 str(work / "password"), "--reset"],
                cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            pks = list(
                published.order_by("public_id").values_list("pk", flat=True)[: args.edited_releases]
            )
            outcomes = editors.Outcomes()
            editor_threads = editors.run(
                base, settings.ADMIN_URL, "load-editor", password, pks, args.editors,
                args.seconds, outcomes,
            )  # fmt: skip
        watcher = None
        if args.restart_postgres_at is not None:
            watcher = threading.Thread(
                target=watch_restart, args=(base, args.restart_postgres_at, report), daemon=True
            )
            watcher.start()
        prefix = work / "locust"
        before = (cpu.sample(server.pid), cpu.reaped_children(), cpu.machine_busy())
        started = time.monotonic()
        subprocess.run(
            [str(BIN / "locust"), "-f", "bench/locustfile.py", "--headless", "--only-summary",
             "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.seconds}s",
             "--host", base, "--csv", str(prefix), "--exit-code-on-error", "0",
             "--loglevel", "WARNING"],
            cwd=ROOT, env={**os.environ, "BENCH_MAX_PUBLIC_ID": str(max_id),
                           "BENCH_LOCUST_CLIENT": args.client,
                           "PYTHONPATH": str(ROOT)},
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        after = (cpu.sample(server.pid), cpu.reaped_children(), cpu.machine_busy())
        report["cpu"] = spent(before, after, time.monotonic() - started)
        for thread in editor_threads:
            thread.join(timeout=60)
        if watcher:
            watcher.join(timeout=90)
    finally:
        server.terminate()
        try:
            server.wait(timeout=45)  # gunicorn's graceful timeout: requests in flight finish
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        app_log.close()

    rows, failures = read_stats(prefix)
    ok = print_report(args, rows, failures, report, work)
    if outcomes is not None:
        ok &= print_editors(outcomes)
    print(f"\nlogs: {work}")
    sys.exit(0 if ok else 1)


def spent(before, after, seconds):
    """{who: cores busy on average} over the locust run: gunicorn, PostgreSQL, Redis,
    locust itself (it shares the machine), the rest of the machine, and all of it."""
    (procs0, locust0, machine0), (procs1, locust1, machine1) = before, after
    used = {name: procs1[name] - procs0[name] for name in procs0}
    used["locust"] = locust1 - locust0
    used["machine"] = machine1 - machine0
    other = "other"
    if used["postgres"] < 0:  # restarted (--restart-postgres-at): its counters began again
        del used["postgres"]
        other = "other, PostgreSQL included"
    used[other] = used["machine"] - sum(v for k, v in used.items() if k != "machine")
    return {name: value / seconds for name, value in used.items()}


def print_report(args, rows, failures, report, work):
    cores = report.pop("cpu", None)  # (the rest of report is the restart's, if any)
    print(
        f"\n{args.users} readers ({args.client} client) for {args.seconds} s"
        + (f", {args.editors} editors" if args.editors else "")
        + (f", PostgreSQL restarted at {args.restart_postgres_at:.0f} s" if report else "")
    )
    print(f"{'request':<28}{'count':>7}{'fail':>6}{'req/s':>8}{'p50':>7}{'p95':>7}{'p99':>7}")
    for row in rows:
        print(
            f"{row['Name'][:27]:<28}{int(row['Request Count']):>7}{int(row['Failure Count']):>6}"
            f"{float(row['Requests/s']):>8.1f}{row['50%']:>7}{row['95%']:>7}{row['99%']:>7}"
        )
    total = next(row for row in rows if row["Name"] == "Aggregated")
    from bench.search import BUSY

    busy = sum(int(f["Occurrences"]) for f in failures if BUSY in f["Error"])
    unavailable = sum(
        int(f["Occurrences"]) for f in failures if "503" in f["Error"] and BUSY not in f["Error"]
    )
    errors = sum(int(f["Occurrences"]) for f in failures) - unavailable - busy
    for f in failures:
        print(f"  failure: {f['Name']}: {f['Error']} × {f['Occurrences']}")
    ok = errors == 0
    p95 = float(total["95%"])
    print(f"\nthroughput {float(total['Requests/s']):.1f} requests/s; p95 {p95:.0f} ms "
          f"(target ≤ {args.p95_target:.0f}); errors {errors}; 503s {unavailable}; "
          f"exports turned away (every slot taken) {busy}")  # fmt: skip
    if cores:
        print(
            f"CPU, cores busy on average of {os.cpu_count()}: "
            + ", ".join(f"{name} {value:.2f}" for name, value in cores.items())
        )
    if not report:
        ok &= unavailable == 0 and p95 <= args.p95_target
    else:
        print(
            f"PostgreSQL restart: pg_ctlcluster took {report.get('restart_seconds', 0):.1f} s "
            f"(exit {report.get('restart_rc')}{', ' + report['restart_error'] if report.get('restart_error') else ''}); "
            f"answers seen meanwhile: {', '.join(report.get('seen_during_restart', []))}; "
            f"a listing answered 200 again {report.get('recovered_after') or float('nan'):.1f} s "
            "after the restart began, with no manual step"
            if report.get("recovered_after") is not None
            else "PostgreSQL restart: the site did NOT recover within 60 s"
        )
        # Exports that were streaming when the connection went and went on after it (statements.exports).
        log = (work / "app.log").read_text(errors="replace")
        resumed = log.count("Export resumed after a lost database connection")
        print(f"exports that went on after losing their database connection: {resumed}")
        ok &= report.get("recovered_after") is not None and report.get("restart_rc") == 0
    return ok


def print_editors(outcomes):
    from django.db import connections

    from bench import editors

    connections.close_all()  # a restart of PostgreSQL ended this process's connection

    problems = editors.verify(outcomes)
    print(
        f"\neditors: {len(outcomes.saved)} saves acknowledged, {len(outcomes.refused)} refused "
        f"as conflicts, {len(outcomes.unknown)} without an answer, {len(outcomes.other)} "
        f"unexpected; checked in the database: {'no problem' if not problems else ''}"
    )
    for problem in problems[:20]:
        print(f"  PROBLEM: {problem}")
    return not problems


if __name__ == "__main__":
    main()
