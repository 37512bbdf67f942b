"""Benchmark the Arabic search on SQLite and PostgreSQL (a script, not a test).

    .venv/bin/python bench/search.py --releases 10000
    .venv/bin/python bench/search.py --releases 100000 --backends postgresql sqlite

For each backend it creates a fresh database (SQLite file under /tmp/csto-bench,
PostgreSQL database csto_bench on DATABASE_URL's server, UTF-8 locale), loads N
published releases of 2–5 KB from statements/corpus.py with their search columns
computed by the analyzer, then builds the search index and prints:

* analysis rate (releases/s, on all cores; the analyzed corpus is cached in
  /tmp/csto-bench and shared by the backends), bulk load time, index build
  time and index size;
* p50 / p95 / max latency over 20 varied queries × repeats, each timed as the
  listing does it: search + count + first page of 20 by relevance;
* the number of results of each query, which must be the same on every backend.

Runs on this machine's loopback databases only. Figures vary run to run on a
shared machine: read them as orders of magnitude.
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
WORK = Path("/tmp/csto-bench")
PG_BASE = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")

# How bench/locustfile.py names an export turned away because every export slot was
# taken, so that bench/load.py counts those apart from errors (kept here: importing the
# locustfile would import locust, which patches the standard library with gevent).
BUSY = "export busy (slots taken: 503 with Retry-After)"

QUERIES = [
    "سورية",
    "سوريا",
    "الإرهاب",
    "الارهاب",
    "مكافحة الإرهاب",
    "الشؤون الداخلية",
    "مسؤول",
    "منظمة معاهدة الامن الجماعي",
    "الأمن الجماعى",
    '"معاهدة الأمن الجماعي"',
    '"تسوية سياسية"',
    "كازاخستان",
    "قيرغيزستان",
    "غيزستان",
    "اوزبيكستان",
    "أفغانستان -المخدرات",
    "ليبيا OR اليمن",
    "٢٠١٨",
    "الرَّئِيسُ",
    "على ؟",
]


def analyzed_corpus(releases):
    """The corpus with its search columns, computed once (both cores) and cached on disk."""
    path = WORK / f"corpus-{releases}.jsonl"
    if not path.exists():
        from multiprocessing import Pool

        from statements.corpus import generate

        started = time.perf_counter()
        tmp = path.with_suffix(".tmp")
        with Pool(os.cpu_count() or 2) as pool, tmp.open("w", encoding="utf-8") as out:
            for row in pool.imap(_analyze, generate(releases), chunksize=64):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        tmp.rename(path)
        seconds = time.perf_counter() - started
        (WORK / f"corpus-{releases}.rate").write_text(f"{releases / seconds}")
    rate = float((WORK / f"corpus-{releases}.rate").read_text())
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return rows, rate


def _analyze(item):
    from statements import analysis

    result = analysis.analyze(item["title"], item["body"])
    return {
        **item,
        "tokens": result.tokens,
        "folded": result.folded,
        "surfaces": sorted(result.surfaces),
    }


def child(backend, releases, repeats):
    """Runs inside a subprocess whose environment selects the database."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csto_site.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from statements import analysis, search, search_schema
    from statements.models import PublicIdentifier, Release, SearchTerm, Source

    call_command("migrate", verbosity=0)
    search_schema.drop(connection)  # build the index after loading, and time it
    source = Source.objects.create(name="مصدر الاختبار", slug="bench")

    corpus, analysis_rate = analyzed_corpus(releases)
    rows, vocabulary = [], set()
    for i, item in enumerate(corpus):
        vocabulary.update(item["surfaces"])
        rows.append(
            Release(
                title=item["title"],
                body=item["body"],
                dateline=item["dateline"],
                source=source,
                status="published",
                published_on=f"{item['year']}-01-01",
                published_precision="year",
                body_sha256=Release.fingerprint(item["body"]),
                import_key=f"bench:{i}",
                search_tokens=item["tokens"],
                search_folded=item["folded"],
                search_version=analysis.ANALYZER_VERSION,
            )
        )
    del corpus

    started = time.perf_counter()
    batch = 1000
    for offset in range(0, len(rows), batch):
        chunk = rows[offset : offset + batch]
        # Both databases return the new keys (RETURNING), so identifiers come from the register.
        issued = PublicIdentifier.objects.bulk_create([PublicIdentifier() for _ in chunk])
        for release, identifier in zip(chunk, issued, strict=True):
            release.public_id = identifier.number
        Release.objects.bulk_create(chunk)
    SearchTerm.objects.bulk_create(
        [SearchTerm(term=t) for t in sorted(vocabulary) if len(t) <= 100],
        ignore_conflicts=True,
        batch_size=5000,
    )
    load_seconds = time.perf_counter() - started
    del rows

    size_before = database_size(connection)
    started = time.perf_counter()
    search_schema.create(connection)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    index_seconds = time.perf_counter() - started
    index_bytes = index_size(connection, size_before)

    timings, counts = {}, {}
    queryset = Release.objects.published()
    for query in QUERIES:  # warm-up, and the result counts
        started = time.perf_counter()
        result = search.search(queryset, query)
        counts[query] = result.queryset.count()
        print(f"{query}: {counts[query]} in {time.perf_counter() - started:.2f}s", file=sys.stderr)
    for query in QUERIES:
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            result = search.search(queryset, query)
            qs = result.queryset
            if result.ranked:
                qs = qs.order_by("-search_rank", "-published_on", "-public_id")
            qs.count()
            list(qs.values_list("public_id", flat=True)[:20])
            samples.append((time.perf_counter() - started) * 1000)
        timings[query] = samples
    print(
        json.dumps(
            {
                "backend": connection.vendor,
                "releases": releases,
                "analysis_rate": analysis_rate,
                "load_seconds": load_seconds,
                "index_seconds": index_seconds,
                "index_bytes": index_bytes,
                "vocabulary": SearchTerm.objects.count(),
                "timings": timings,
                "counts": counts,
            }
        )
    )


def database_size(connection):
    if connection.vendor == "sqlite":
        return Path(connection.settings_dict["NAME"]).stat().st_size
    return 0


def index_size(connection, size_before):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT coalesce(sum(pg_relation_size(indexrelid)), 0) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE %s OR c.relname LIKE %s",
                ["%search_%", "%term_trgm"],
            )
            return int(cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE '%\\_fts%' ESCAPE '\\' "
            "OR name LIKE '%\\_trgm%' ESCAPE '\\'"
        )
        return cursor.fetchone()[0]


def database_env(backend, name):
    """The environment of a child process that uses a fresh database ``name`` on ``backend``."""
    WORK.mkdir(exist_ok=True)
    env = {**os.environ, "DJANGO_DEBUG": "", "CSTO_PLAIN_STATIC": "1"}
    env.pop("DATABASE_URL", None)
    if backend == "sqlite":
        path = WORK / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        env["SQLITE_PATH"] = str(path)
    else:
        import psycopg
        from psycopg import sql

        with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(
                sql.SQL(
                    "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' "
                    "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
                ).format(sql.Identifier(name))
            )
        env["DATABASE_URL"] = f"{PG_BASE}/{name}"
    return env


def run_backend(backend, releases, repeats):
    name = f"bench-{releases}" if backend == "sqlite" else "csto_bench"
    env = database_env(backend, name)
    out = subprocess.run(
        [sys.executable, __file__, "--child", backend, "--releases", str(releases),
         "--repeats", str(repeats)],
        env=env, cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{backend} failed:\n{out.stderr[-3000:]}")
    if os.environ.get("BENCH_VERBOSE"):
        print(out.stderr, file=sys.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def report(results):
    print()
    for r in results:
        all_ms = [ms for samples in r["timings"].values() for ms in samples]
        print(f"== {r['backend']}, {r['releases']:,} releases")
        print(
            f"   analysis {r['analysis_rate']:,.0f} releases/s; bulk load {r['load_seconds']:.1f} s"
        )
        print(
            f"   index build {r['index_seconds']:.1f} s; index size "
            f"{r['index_bytes'] / 2**20:,.1f} MiB; vocabulary {r['vocabulary']:,} words"
        )
        print(
            f"   search latency over {len(all_ms)} runs: p50 {statistics.median(all_ms):.1f} ms, "
            f"p95 {percentile(all_ms, 95):.1f} ms, max {max(all_ms):.1f} ms"
        )
    print()
    header = f"{'query':<34}" + "".join(
        f"{r['backend'][:6]:>10} p50 {'p95':>6} {'hits':>7}" for r in results
    )
    print(header)
    for query in QUERIES:
        row = f"{query:<34}"
        for r in results:
            samples = r["timings"][query]
            row += (
                f"{statistics.median(samples):>14.1f} {percentile(samples, 95):>6.1f}"
                f" {r['counts'][query]:>7}"
            )
        print(row)
    counts = [r["counts"] for r in results]
    same = all(c == counts[0] for c in counts)
    print("\nsame result counts on every backend:", "yes" if same else "NO")
    return same


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])  # fmt: skip
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.releases, args.repeats)
        return
    WORK.mkdir(exist_ok=True)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csto_site.settings")
    os.environ.setdefault("CSTO_PLAIN_STATIC", "1")
    import django

    django.setup()
    print(f"analyzing {args.releases:,} releases (cached in {WORK})…", flush=True)
    analyzed_corpus(args.releases)
    results = []
    for backend in args.backends:
        print(f"running {backend} with {args.releases:,} releases…", flush=True)
        results.append(run_backend(backend, args.releases, args.repeats))
    if not report(results):
        sys.exit(1)


if __name__ == "__main__":
    main()
