"""Benchmark the public listings on SQLite and PostgreSQL (a script, not a test).

    .venv/bin/python bench/listings.py --releases 10000
    .venv/bin/python bench/listings.py --releases 100000 --backends postgresql

For each backend it creates a fresh database, loads N releases (97 % published,
2–5 KB bodies from bench/corpus.py, dates over 1992–2026 at mixed precision,
20 sources, a fifth relayed) with 8 positions each on one or two codebook
topics drawn with Zipf-like popularity, rebuilds the listing copies and
prints, for each page, the server-side time of a full request through
Django's test client (p50 / p95 / p99 over the repeats) and its query count:

* cold: the cache emptied before every request (as after a publication);
* warm: the counts cached for the current generation (repeated views).

Runs on this machine's loopback databases only; figures vary from run to run
on a shared machine.
"""

import argparse
import datetime
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.search import PG_BASE, WORK, database_env, percentile  # noqa: E402

POSITIONS_PER_RELEASE = 8
STANCES = ["supports", "welcomes", "affirms", "calls_for", "concern", "condemns", "notes"]
BODIES = ["csc", "cfm", "cdm", "sg", "secretariat", "unknown"]


def load(releases, seed=1):
    """Bulk-load the corpus; returns (load seconds, rebuild seconds)."""
    from django.db import transaction

    from statements import listing
    from statements.corpus import generate
    from statements.models import Position, Source, Topic

    rng = random.Random(seed)
    sources = [
        Source.objects.create(name=f"مصدر {i}", name_en=f"Source {i}", slug=f"source-{i}")
        for i in range(20)
    ]
    topics = list(Topic.objects.order_by("pk"))
    rng.shuffle(topics)
    weights = [1 / (rank + 1) for rank in range(len(topics))]
    links = Position.topics.through
    started = time.perf_counter()
    batch, done = [], 0
    for item in generate(releases, seed):
        batch.append(item)
        if len(batch) == 1000 or done + len(batch) == releases:
            with transaction.atomic():
                _load_batch(batch, rng, sources, topics, weights, links)
            done += len(batch)
            batch = []
            print(f"  loaded {done:,} releases", file=sys.stderr, flush=True)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    listing.refresh()
    rebuild_seconds = time.perf_counter() - started
    return load_seconds, rebuild_seconds


def _load_batch(items, rng, sources, topics, weights, links):
    from statements.models import Position, PublicIdentifier, Release

    issued = PublicIdentifier.objects.bulk_create([PublicIdentifier() for _ in items])
    releases = []
    for item, identifier in zip(items, issued, strict=True):
        roll = rng.random()
        day = datetime.date(item["year"], rng.randint(1, 12), rng.randint(1, 28))
        if roll < 0.8:
            on, precision = day, "day"
        elif roll < 0.9:
            on, precision = day.replace(day=1), "month"
        elif roll < 0.97:
            on, precision = day.replace(month=1, day=1), "year"
        else:
            on, precision = None, "unknown"
        releases.append(
            Release(
                public_id=identifier.number,
                title=item["title"],
                body=item["body"],
                dateline=item["dateline"],
                source=rng.choice(sources),
                issuing_body=rng.choice(BODIES),
                status="published" if rng.random() < 0.97 else "draft",
                published_on=on,
                published_precision=precision,
                body_sha256=Release.fingerprint(item["body"]),
                import_key=f"bench:{identifier.number}",
                last_position_number=POSITIONS_PER_RELEASE,
            )
        )
    Release.objects.bulk_create(releases)
    relays = [
        Release.relayed_from.through(release=r, source=rng.choice(sources))
        for r in releases
        if rng.random() < 0.2
    ]
    Release.relayed_from.through.objects.bulk_create(relays)
    positions = []
    for release in releases:
        words = [(m, m + len(w)) for m, w in _words(release.body)]
        for number in range(1, POSITIONS_PER_RELEASE + 1):
            first = rng.randrange(len(words) - 12)
            start, end = words[first][0], words[first + rng.randint(3, 11)][1]
            positions.append(
                Position(
                    release=release,
                    number=number,
                    start=start,
                    end=end,
                    quote=release.body[start:end],
                    stance=rng.choice(STANCES),
                    summary="ملخص",
                )
            )
    Position.objects.bulk_create(positions)
    rows = []
    for position in positions:
        chosen = set(rng.choices(topics, weights, k=rng.randint(1, 2)))
        rows += [links(position=position, topic=topic) for topic in chosen]
    links.objects.bulk_create(rows)


def _words(body):
    return [(m.start(), m.group()) for m in re.finditer(r"\S+", body)]


def cases():
    """(name, url) of the pages measured."""
    from django.db.models import Count

    from statements.filters import POSITION_NEWEST
    from statements.models import Position, Release, TopicEntry
    from statements.paging import encode

    by_use = list(
        TopicEntry.objects.filter(is_public=True)
        .values_list("topic__slug")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    common, rare = by_use[0][0], by_use[-1][0]
    deep = (
        Position.objects.filter(is_public=True)
        .order_by(*[k.order() for k in POSITION_NEWEST])[9999:10000]
        .get()
    )
    release = Release.objects.published().order_by("public_id")[100]
    return [
        ("home", "/"),
        ("releases, no filter", "/releases/"),
        ("releases, 1 filter", f"/releases/?topic={common}"),
        ("releases, 3 filters", f"/releases/?topic={common}&stance=affirms&date_from=2010"),
        (
            "positions, topic+stance+dates",
            f"/positions/?topic={common}&stance=affirms&date_from=2010&date_to=2020",
        ),
        ("positions, rare topic+stance", f"/positions/?topic={rare}&stance=concern"),
        ("positions, no filter", "/positions/"),
        ("positions, page 501 (keyset)", f"/positions/?after={encode(POSITION_NEWEST, deep)}"),
        ("release page", f"/r/{release.public_id}/"),
        ("topic page", f"/topics/{common}/"),
    ]


def measure(url, repeats, cold):
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    samples, queries = [], 0
    client.get(url)  # warm the page cache and, for warm runs, the counts
    for _ in range(repeats):
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    return samples, queries


def child(releases, repeats, reuse=False):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csto_site.settings")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1"
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic here

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from statements.models import Release

    if reuse and Release.objects.count() == releases:
        print("  reusing the loaded corpus", file=sys.stderr, flush=True)
        load_seconds = rebuild_seconds = float("nan")
    else:
        load_seconds, rebuild_seconds = load(releases)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    results = []
    for name, url in cases():
        row = {"name": name, "url": url}
        for mode in ("cold", "warm"):
            samples, queries = measure(url, repeats, cold=mode == "cold")
            row[mode] = samples
            row[f"{mode}_queries"] = queries
        print(f"  {name}: done", file=sys.stderr, flush=True)
        results.append(row)
    print(
        json.dumps(
            {
                "backend": connection.vendor,
                "releases": releases,
                "load_seconds": load_seconds,
                "rebuild_seconds": rebuild_seconds,
                "results": results,
            }
        )
    )


def run_backend(backend, releases, repeats, reuse=False):
    name = f"listings-{releases}" if backend == "sqlite" else "csto_bench_listings"
    if reuse:
        env = {**os.environ, "DJANGO_DEBUG": "", "CSTO_PLAIN_STATIC": "1"}
        env.pop("DATABASE_URL", None)
        if backend == "sqlite":
            env["SQLITE_PATH"] = str(WORK / f"{name}.sqlite3")
        else:
            env["DATABASE_URL"] = f"{PG_BASE}/{name}"
    else:
        env = database_env(backend, name)
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--releases", str(releases),
         "--repeats", str(repeats), *(["--reuse"] if reuse else [])],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=None, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{backend} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(result):
    print(
        f"\n== {result['backend']}, {result['releases']:,} releases, "
        f"{result['releases'] * POSITIONS_PER_RELEASE:,} positions "
        f"(load {result['load_seconds']:.0f} s, listing copies rebuilt in "
        f"{result['rebuild_seconds']:.1f} s; nan: a corpus loaded before)"
    )
    print(
        f"{'page':<32}{'cold p50':>9}{'p95':>8}{'p99':>8}{'q':>4}{'warm p50':>10}{'p95':>8}{'p99':>8}{'q':>4}"
    )
    for row in result["results"]:
        line = f"{row['name']:<32}"
        for mode in ("cold", "warm"):
            samples = row[mode]
            line += (
                f"{statistics.median(samples):>{9 if mode == 'cold' else 10}.1f}"
                f"{percentile(samples, 95):>8.1f}{percentile(samples, 99):>8.1f}"
                f"{row[f'{mode}_queries']:>4}"
            )
        print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])  # fmt: skip
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the corpus a previous run loaded (same size), migrating it first",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.releases, args.repeats, args.reuse)
        return
    for backend in args.backends:
        print(f"running {backend} with {args.releases:,} releases…", flush=True)
        report(run_backend(backend, args.releases, args.repeats, args.reuse))


if __name__ == "__main__":
    main()
