"""The benchmark of the production issue, in one command (a script, not a test).

    .venv/bin/python bench/run.py                      # 10,000 on PostgreSQL and SQLite
    .venv/bin/python bench/run.py --releases 100000 --backends postgresql --reuse

For each backend and size it loads a corpus with ``manage.py generate_corpus``
(into a fresh database, or with --reuse the one a previous run left, if it has
that many releases), then prints, for each page, the server-side time of a full
request through Django's test client (p50 / p95 / p99 over --repeats) and its
query count, cold (the caches emptied before each request, as right after a
publication), warm (counts cached for the current generation, the page built again)
and, for the pages readers share, the copy kept for the next reader (``kept``: the
"pages" cache, statements.middleware.ConditionalGetMiddleware):

* home; the release list with 0, 1 and 3 filters; the position list with topic +
  stance + date-range filters and its facets; a deep page (page 501, by keyset);
  20 searches (bench/search.py's queries: phrases, an alias, a fuzzy name, a
  substring, OR, NOT, digits); a release page; a topic page;
* the CSV export of up to --export-rows positions, streamed in a fresh process:
  its time and that process's peak memory (RSS) before and after;
* an import of --import-releases releases (a JSON Lines file through
  ``manage.py import_releases``, into a fresh database): releases per second,
  analysis and indexing included.

Results are also written to /tmp/csto-bench/run-<backend>-<N>.json. Loopback
databases only; the machine is shared and noisy: read figures as orders of magnitude.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.search import PG_BASE, QUERIES, WORK, database_env, percentile  # noqa: E402


def env_for(backend, name, fresh):
    if fresh:
        return database_env(backend, name)
    env = {**os.environ, "DJANGO_DEBUG": "", "CSTO_PLAIN_STATIC": "1"}
    env.pop("DATABASE_URL", None)
    if backend == "sqlite":
        env["SQLITE_PATH"] = str(WORK / f"{name}.sqlite3")
    else:
        env["DATABASE_URL"] = f"{PG_BASE}/{name}"
    return env


def django_child():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csto_site.settings")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1"
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()


def cases():
    """(name, url) of the pages measured."""
    from django.db.models import Count

    from statements.filters import POSITION_NEWEST
    from statements.models import Position, Release, Topic, TopicEntry
    from statements.paging import encode

    by_use = list(
        TopicEntry.objects.filter(is_public=True)
        .values_list("topic__slug")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    common = by_use[0][0]
    place = next(
        slug for slug, _n in by_use if Topic.objects.filter(slug=slug, kind="place").exists()
    )
    source = (
        Release.objects.published().values_list("source__slug").annotate(n=Count("pk"))
    ).order_by("-n")[0][0]
    newest = Position.objects.filter(is_public=True).order_by(*[k.order() for k in POSITION_NEWEST])
    deep = newest[max(0, min(9999, newest.count() - 21))]  # the last of page 500, at 20 a page
    published = Release.objects.published().order_by("public_id")
    release = published[min(100, published.count() - 1)]
    return [
        ("home", "/"),
        ("releases, no filter", "/releases/"),
        ("releases, 1 filter", f"/releases/?topic={common}"),
        ("releases, 3 filters", f"/releases/?topic={common}&stance=affirms&date_from=2010"),
        (
            "positions, topic+stance+dates",
            f"/positions/?topic={common}&stance=affirms&date_from=2010&date_to=2020",
        ),
        ("positions, no filter", "/positions/"),
        # Filters the load test's random clicks reach (bench/locustfile.py): one body or one
        # source alone, two of stance, body and source, a place given as topic (its place
        # facet: places with a place), and a topic with a place.
        ("releases, body", "/releases/?issuing_body=secretariat"),
        ("positions, source", f"/positions/?source={source}"),
        ("positions, stance+body", "/positions/?stance=affirms&issuing_body=sg"),
        ("releases, body+source", f"/releases/?issuing_body=cfm&source={source}"),
        ("releases, place as topic", f"/releases/?topic={place}"),
        ("positions, topic+place", f"/positions/?topic={common}&place={place}"),
        ("positions, page 501 (keyset)", f"/positions/?after={encode(POSITION_NEWEST, deep)}"),
        ("release page", f"/r/{release.public_id}/"),
        ("topic page", f"/topics/{common}/"),
    ]


def measure(url, repeats, mode):
    from django.core.cache import cache, caches
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    samples, queries = [], 0
    for _ in range(2):  # warm the caches: counts, and the copy kept (at the second ask)
        client.get(url)
    for _ in range(repeats):
        if mode == "cold":
            cache.clear()
        if mode != "kept":
            caches["pages"].clear()  # the page built again
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    return samples, queries


def pages(repeats, queries):
    """Child: measure every page; prints one JSON line."""
    django_child()
    from django.db import connection

    results = []
    wanted = cases()
    wanted += [(f"search: {q}", "/releases/?" + _query(q)) for q in QUERIES[:queries]]
    for name, url in wanted:
        row = {"name": name, "url": url}
        for mode in ("cold", "warm", "kept"):
            samples, queries = measure(url, repeats, mode)
            row[mode], row[f"{mode}_queries"] = samples, queries
        print(
            f"  {name}: {statistics.median(row['cold']):.0f} ms cold", file=sys.stderr, flush=True
        )
        results.append(row)
    print(json.dumps({"backend": connection.vendor, "pages": results}))


def _query(q):
    from urllib.parse import urlencode

    return urlencode({"q": q})


def export(rows):
    """Child: stream the positions CSV; prints time, rows and peak RSS as JSON."""
    import resource

    django_child()
    from django.test import Client

    from statements.models import Position

    total = Position.objects.filter(is_public=True).count()
    url = "/positions/export.csv"
    if total > rows:  # a filter that keeps about ``rows`` positions: the newest years
        from django.db.models import Count
        from django.db.models.functions import ExtractYear

        by_year = dict(
            Position.objects.filter(is_public=True, release_date__isnull=False)
            .values_list(ExtractYear("release_date"))
            .annotate(n=Count("pk"))
            .order_by()
        )
        kept, first = 0, max(by_year)
        for year in sorted(by_year, reverse=True):
            if kept >= rows:
                break
            kept, first = kept + by_year[year], year
        url += f"?date_from={first}"
    client = Client(HTTP_HOST="127.0.0.1")
    # A small export first: what loading the views and templates costs once is not the
    # export's memory.
    for _chunk in client.get("/positions/export.csv?date_from=2026-12-31").streaming_content:
        pass
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    response = client.get(url)
    lines = size = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        size += len(chunk)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"url": url, "rows": lines - 1, "bytes": size, "seconds": seconds,
                      "rss_before_mb": before, "rss_peak_mb": peak}))  # fmt: skip


def import_file(releases, path):
    """The JSONL file the import measures: releases of another seed than the corpus."""
    if path.exists():
        return
    django_child()  # the generator reads the demo texts through the app
    from statements.corpus import SOURCES, generate

    with path.open("w", encoding="utf-8") as out:
        for index, item in enumerate(generate(releases, seed=99)):
            record = {
                "title": item["title"],
                "body": item["body"],
                "dateline": item["dateline"],
                "source": SOURCES[index % len(SOURCES)][1],
                "published": str(item["year"]),
                "published_precision": "year",
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def run(backend, releases, repeats, reuse, export_rows, import_releases, queries):
    name = f"run-{releases}" if backend == "sqlite" else f"csto_bench_{releases}"
    report = {"backend": backend, "releases": releases}
    env = env_for(backend, name, fresh=False)
    probe = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from statements.models import Release; print(Release.objects.count())"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    have = probe.stdout.strip().splitlines()[-1] if probe.returncode == 0 and probe.stdout else ""
    if not (reuse and have == str(releases)):
        env = env_for(backend, name, fresh=True)
        manage(env, "migrate", "-v0")
        print(f"  generating {releases:,} releases…", file=sys.stderr, flush=True)
        started = time.perf_counter()
        manage(env, "generate_corpus", "--releases", str(releases), "-v0")
        report["generate_seconds"] = time.perf_counter() - started
    else:
        manage(env, "migrate", "-v0")
        print(f"  reusing {releases:,} releases in {name}", file=sys.stderr, flush=True)
    report.update(child(env, "--pages", str(repeats), "--queries", str(queries)))
    if export_rows:
        print("  exporting…", file=sys.stderr, flush=True)
        report["export"] = child(env, "--export", str(export_rows))
    if import_releases:
        print(f"  importing {import_releases:,} releases…", file=sys.stderr, flush=True)
        path = WORK / f"import-{import_releases}.jsonl"
        import_file(import_releases, path)
        ienv = env_for(backend, f"{name}_import" if backend != "sqlite" else f"{name}-import", True)
        manage(ienv, "migrate", "-v0")
        started = time.perf_counter()
        manage(ienv, "import_releases", str(path), "--status", "review", "-v0")
        seconds = time.perf_counter() - started
        report["import"] = {"releases": import_releases, "seconds": seconds}
    (WORK / f"run-{backend}-{releases}.json").write_text(json.dumps(report))
    return report


def manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def child(env, *args):
    out = subprocess.run(
        [sys.executable, __file__, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_report(r):
    print(f"\n== {r['backend']}, {r['releases']:,} releases", end="")
    if "generate_seconds" in r:
        print(f" (generated in {r['generate_seconds']:.0f} s, "
              f"{r['releases'] / r['generate_seconds']:.0f} releases/s)", end="")  # fmt: skip
    print()
    modes = ("cold", "warm", "kept")
    print(f"{'page':<44}{'cold p50':>9}{'p95':>7}{'p99':>7}{'q':>4}"
          f"{'warm p50':>10}{'p95':>7}{'p99':>7}{'q':>4}"
          f"{'kept p50':>10}{'p95':>7}{'q':>4}")  # fmt: skip
    searches = {mode: [] for mode in modes}
    for row in r["pages"]:
        line = f"{row['name'][:43]:<44}"
        for mode in modes:
            s = row.get(mode) or [float("nan")]
            if row["name"].startswith("search"):
                searches[mode] += s
            line += f"{statistics.median(s):>{9 if mode == 'cold' else 10}.0f}"
            line += f"{percentile(s, 95):>7.0f}"
            line += "" if mode == "kept" else f"{percentile(s, 99):>7.0f}"
            line += f"{row.get(f'{mode}_queries', 0):>4}"
        print(line)
    line = f"{'all searches':<44}"
    for mode in modes:
        s = searches[mode] or [float("nan")]
        line += f"{statistics.median(s):>{9 if mode == 'cold' else 10}.0f}"
        line += f"{percentile(s, 95):>7.0f}"
        line += f"{'':>4}" if mode == "kept" else f"{percentile(s, 99):>7.0f}{'':>4}"
    print(line)
    if "export" in r:
        e = r["export"]
        print(
            f"CSV export: {e['rows']:,} positions ({e['bytes'] / 2**20:.0f} MiB) in "
            f"{e['seconds']:.1f} s, {e['rows'] / e['seconds']:,.0f} rows/s; process RSS "
            f"{e['rss_before_mb']:.0f} MB before, peak {e['rss_peak_mb']:.0f} MB ({e['url']})"
        )
    if "import" in r:
        i = r["import"]
        print(f"import: {i['releases']:,} releases in {i['seconds']:.1f} s, "
              f"{i['releases'] / i['seconds']:.0f} releases/s (analysis and indexing included)")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, nargs="+", default=[10000])
    parser.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"],
                        choices=["sqlite", "postgresql"])  # fmt: skip
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="reuse a corpus of the same size")
    parser.add_argument("--export-rows", type=int, default=100000, help="0: skip")
    parser.add_argument("--import-releases", type=int, default=10000, help="0: skip")
    parser.add_argument("--queries", type=int, default=len(QUERIES), help="searches measured")
    parser.add_argument("--pages", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--export", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # A child's own arguments (a parent skips a child rather than pass it 0).
    if args.pages is not None:
        return pages(args.pages, args.queries)
    if args.export is not None:
        return export(args.export)
    WORK.mkdir(exist_ok=True)
    for releases in args.releases:
        for backend in args.backends:
            print(f"{backend}, {releases:,} releases…", flush=True)
            print_report(run(backend, releases, args.repeats, args.reuse, args.export_rows,
                             args.import_releases, args.queries))  # fmt: skip


if __name__ == "__main__":
    main()
