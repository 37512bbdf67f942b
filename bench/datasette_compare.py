"""Compare the faceted position listing with Datasette on one SQLite file (a script, not a test).

    .venv/bin/python bench/datasette_compare.py --releases 10000
    .venv/bin/python bench/datasette_compare.py --releases 10000 --repeats 20 --reuse

It builds /tmp/csto-bench/compare-N.sqlite3 (``migrate`` then ``generate_corpus
--releases N --seed 1``; with --reuse an existing file of N releases is kept), then
serves that same file over HTTP on 127.0.0.1 with

* the project: gunicorn with csto_site/gunicorn.py, 2 workers, production settings
  (DEBUG off), the counts cache in Redis database 7 on 127.0.0.1:6379 (which the
  script empties: keep nothing else there);
* Datasette (installed on first use into /tmp/csto-bench/datasette-venv), the file
  opened immutable, SQL and facet time limits raised to 60 s so that no requested
  facet is cut off; once with suggested facets on (its default, each suggestion
  still limited to facet_suggest_time_limit_ms, 50 ms), once with them off.

and times, client-side, whole HTTP requests (urllib, a new connection each) for

1. the positions listing with no filter: the project's /positions/ against Datasette's
   table page of statements_position (public rows, newest first, facets on stance,
   source and issuing body);
2. a common topic + stance "affirms" + dates 2010–2020: the project's /positions/ with
   those filters against Datasette's table page of the topic-link table
   statements_topicentry with the same filters and facets. The topic is the commonest
   one without narrower topics, so that the project (which includes narrower topics)
   and Datasette filter the same rows.

The project is timed cold (the Redis database flushed before each request, as right
after a publication) and warm (the counts of the current generation cached); Datasette
caches nothing. Each round requests every server once, so that load from other jobs on
the machine hits them alike; one round is a discarded warm-up. The table gives p50 and
p95 in ms and Datasette's p50 over the project's. Runs on loopback only; figures vary
from run to run on a shared machine: read them as orders of magnitude.
"""

import argparse
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.search import WORK, database_env, percentile  # noqa: E402

DATASETTE_VENV = WORK / "datasette-venv"
REDIS_URL = "redis://127.0.0.1:6379/7"
FACETS = [("_facet", "stance"), ("_facet", "release_source_id"), ("_facet", "issuing_body")]
DATASETTE_SETTINGS = {"sql_time_limit_ms": "60000", "facet_time_limit_ms": "60000"}
MODES = [
    ("project", "cold"),
    ("project", "warm"),
    ("datasette", "suggest on"),
    ("datasette", "suggest off"),
]


def project_env(path, building):
    """The environment of manage.py and gunicorn on the SQLite file ``path``."""
    if building:
        base = database_env("sqlite", path.stem)  # removes any previous file
    else:
        base = {**os.environ}
        base.pop("DATABASE_URL", None)
    base.pop("DATABASE_REPLICA_URL", None)
    return {
        **base,
        "SQLITE_PATH": str(path),
        "DJANGO_SETTINGS_MODULE": "csto_site.settings",
        "DJANGO_DEBUG": "",
        "DJANGO_SECRET_KEY": "bench-not-secret-" + "x" * 45,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain http://127.0.0.1
        "DJANGO_BEHIND_PROXY": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "CSTO_PLAIN_STATIC": "1",
        "REDIS_URL": REDIS_URL,
        "CSTO_CACHE_PREFIX": "bench",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "GUNICORN_TIMEOUT": "300",
    }


def release_count(path):
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM statements_release").fetchone()[0]
    except sqlite3.Error:
        return None


def build(releases, reuse):
    """The SQLite file of ``releases`` releases, built unless --reuse finds it."""
    WORK.mkdir(exist_ok=True)
    path = WORK / f"compare-{releases}.sqlite3"
    reusing = reuse and path.exists() and release_count(path) == releases
    env = project_env(path, building=not reusing)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, cwd=ROOT, check=True)
    if reusing:
        print(f"reusing {path} ({releases:,} releases)", flush=True)
    else:
        print(f"building {path} ({releases:,} releases)…", flush=True)
        started = time.perf_counter()
        subprocess.run(
            [*manage, "generate_corpus", "--releases", str(releases), "--seed", "1"],
            env=env, cwd=ROOT, check=True,
        )  # fmt: skip
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    # Datasette opens the file immutable, which ignores the write-ahead log: move it all
    # into the file first.
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path, env


def common_topic(path):
    """(id, slug, public rows) of the commonest topic that has no narrower topics."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT t.id, t.slug, count(*) AS n FROM statements_topicentry e "
            "JOIN statements_topic t ON t.id = e.topic_id "
            "WHERE e.is_public AND NOT EXISTS "
            "(SELECT 1 FROM statements_topic c WHERE c.parent_id = t.id) "
            "GROUP BY t.id ORDER BY n DESC, t.slug LIMIT 1"
        ).fetchone()


def expected_counts(path, topic_id):
    """The row counts of both cases, straight from the file (checks Datasette's filters)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        unfiltered = db.execute(
            "SELECT count(*) FROM statements_position WHERE is_public"
        ).fetchone()[0]
        filtered = db.execute(
            "SELECT count(*) FROM statements_topicentry WHERE is_public AND topic_id = ? "
            "AND stance = 'affirms' AND release_date BETWEEN '2010-01-01' AND '2020-12-31'",
            [topic_id],
        ).fetchone()[0]
    return unfiltered, filtered


def cases(topic_id, slug):
    """(name, project path, Datasette table, Datasette query) of the pages compared."""
    filtered = urllib.parse.urlencode(
        {"topic": slug, "stance": "affirms", "date_from": "2010", "date_to": "2020"}
    )
    return [
        (
            "positions, no filter",
            "/positions/",
            "statements_position",
            [("is_public", "1"), *FACETS, ("_size", "20"), ("_sort_desc", "release_date")],
        ),
        (
            "positions, topic+affirms+2010–2020",
            f"/positions/?{filtered}",
            "statements_topicentry",
            [
                ("topic_id", str(topic_id)),
                ("stance", "affirms"),
                ("release_date__gte", "2010-01-01"),
                ("release_date__lte", "2020-12-31"),
                ("is_public", "1"),
                *FACETS,
                ("_size", "20"),
                # The project lists newest first too.
                ("_sort_desc", "release_date"),
            ],
        ),
    ]


def datasette_executable():
    """Datasette's command, installed on first use into its own virtualenv."""
    executable = DATASETTE_VENV / "bin" / "datasette"
    if not executable.exists():
        print(f"installing Datasette into {DATASETTE_VENV}…", flush=True)
        subprocess.run([sys._base_executable, "-m", "venv", str(DATASETTE_VENV)], check=True)
        subprocess.run(
            [str(DATASETTE_VENV / "bin" / "pip"), "install", "--quiet", "datasette"], check=True
        )
    return executable


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process in its own process group, its output in a log file."""

    def __init__(self, name, command, ready_path, env=None):
        self.name = name
        self.port = free_port()
        self.log = WORK / f"compare-{name.replace(' ', '-')}.log"
        command = [part.format(port=self.port) for part in command]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.wait(ready_path)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def wait(self, path, seconds=120):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url(path), timeout=5) as response:  # noqa: S310 - http://127.0.0.1
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        tail = self.log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{self.name} did not start on port {self.port}:\n{tail}")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def fetch(url):
    """The body of a GET of ``url`` and the milliseconds the whole request took."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as response:  # noqa: S310 - http://127.0.0.1 only
        body = response.read()
        status, final = response.status, response.url
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200 or final != url:  # a redirect would time another page
        raise SystemExit(f"{url}: HTTP {status} from {final}")
    return body, elapsed


def check_datasette(server, database, table, query):
    """Datasette's JSON for the page: its row count (None if the count timed out) and the
    requested facets missing from its results (a facet that timed out is left out)."""
    url = server.url(f"/{database}/{table}.json?{urllib.parse.urlencode(query)}")
    data = json.loads(fetch(url)[0])
    missing = {value for key, value in query if key == "_facet"} - set(data["facet_results"])
    return data["filtered_table_rows_count"], sorted(missing)


def measure(releases, repeats, reuse):
    path, env = build(releases, reuse)
    topic_id, slug, topic_rows = common_topic(path)
    unfiltered, filtered = expected_counts(path, topic_id)
    print(
        f"commonest topic without narrower topics: {slug} (id {topic_id}, {topic_rows:,} "
        f"public links); rows: {unfiltered:,} public positions, {filtered:,} filtered",
        flush=True,
    )
    import redis

    cache = redis.Redis.from_url(REDIS_URL)
    cache.flushdb()
    datasette = str(datasette_executable())
    version = subprocess.run(
        [datasette, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    settings = [arg for k, v in DATASETTE_SETTINGS.items() for arg in ("--setting", k, v)]
    database = path.stem
    servers = {}
    try:
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        servers["project"] = Server(
            "project",
            [gunicorn, "-c", "csto_site/gunicorn.py", "--bind", "127.0.0.1:{port}",
             "csto_site.wsgi"],
            "/healthz/",
            env=env,
        )  # fmt: skip
        for mode, extra in (
            ("suggest on", []),
            ("suggest off", ["--setting", "suggest_facets", "off"]),
        ):
            servers[mode] = Server(
                f"datasette {mode}",
                [datasette, "serve", "-i", str(path), "--host", "127.0.0.1", "--port", "{port}",
                 *settings, *extra],
                "/-/versions.json",
            )  # fmt: skip
        print(
            f"serving: project on {servers['project'].port} (gunicorn, 2 workers); "
            f"{version} on {servers['suggest on'].port} (suggested facets on) and "
            f"{servers['suggest off'].port} (off)",
            flush=True,
        )

        results, notes = [], []
        expected = [unfiltered, filtered]
        for (name, page, table, query), rows in zip(cases(topic_id, slug), expected, strict=True):
            urls = {("project", mode): servers["project"].url(page) for mode in ("cold", "warm")}
            for mode in ("suggest on", "suggest off"):
                urls[("datasette", mode)] = servers[mode].url(
                    f"/{database}/{table}?{urllib.parse.urlencode(query)}"
                )
                count, missing = check_datasette(servers[mode], database, table, query)
                if count != rows:
                    notes.append(f"{name}: Datasette ({mode}) counted {count}, not {rows}")
                if missing:
                    notes.append(
                        f"{name}: Datasette ({mode}) facets missing (timed out?): {missing}"
                    )
            samples = {key: [] for key in MODES}
            for round_ in range(repeats + 1):  # round 0 is the warm-up
                for key in MODES:
                    if key == ("project", "cold"):
                        cache.flushdb()
                    body, ms = fetch(urls[key])
                    if round_:
                        samples[key].append(ms)
                    elif key[0] == "project" and f"{rows} ".encode() not in body:
                        notes.append(f"{name}: the project's page ({key[1]}) does not say {rows}")
                    if key[0] == "datasette" and b'class="facets-timed-out"' in body:
                        notes.append(
                            f"{name}: Datasette ({key[1]}), round {round_}: facets timed out"
                        )
                print(f"  {name}: round {round_}/{repeats}", file=sys.stderr, flush=True)
            results.append((name, urls, samples))
        cache.flushdb()
    finally:
        for server in servers.values():
            server.stop()
    return results, notes, version, path


def report(releases, repeats, results, notes, version, path):
    print(
        f"\n== {releases:,} releases in {path}; project: gunicorn, 2 workers, Redis cache; "
        f"{version}, immutable, sql/facet time limits 60 s; p50/p95 over {repeats} requests, ms"
    )
    header = (
        f"{'case':<36}{'server':<11}{'mode':<13}{'p50':>9}{'p95':>9}"
        f"{'÷ proj. cold':>14}{'÷ proj. warm':>14}"
    )
    print(header)
    print("-" * len(header))
    smallest = float("inf")
    for name, _, samples in results:
        cold = statistics.median(samples[("project", "cold")])
        warm = statistics.median(samples[("project", "warm")])
        for server, mode in MODES:
            values = samples[(server, mode)]
            p50 = statistics.median(values)
            line = f"{name:<36}{server:<11}{mode:<13}{p50:>9.1f}{percentile(values, 95):>9.1f}"
            if server == "datasette":
                line += f"{p50 / cold:>13.1f}×{p50 / warm:>13.1f}×"
                smallest = min(smallest, p50 / cold)
            print(line)
            name = ""
    print()
    for name, urls, _ in results:
        print(f"{name}:")
        for (server, mode), url in urls.items():
            if mode != "warm":
                print(f"  {server:<10} {url}")
    for note in notes:
        print(f"NOTE: {note}")
    print(
        f"\nsmallest ratio, Datasette p50 over the project's cold p50: {smallest:.1f}× "
        f"({'more' if smallest > 10 else 'NOT more'} than 10×)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=10, help="timed requests per server")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep /tmp/csto-bench/compare-N.sqlite3 if it holds N releases (migrated first)",
    )
    args = parser.parse_args()
    results, notes, version, path = measure(args.releases, args.repeats, args.reuse)
    report(args.releases, args.repeats, results, notes, version, path)


if __name__ == "__main__":
    main()
