"""What each kind of reader request costs the machine: CPU, not latency (a script).

    .venv/bin/python bench/cost.py --database-url postgres://postgres@127.0.0.1:5432/csto_100k

The load test (bench/load.py) says how long readers waited; on a machine whose cores
are saturated that is mostly queueing, and it does not say which requests use the
cores up. This script serves the site as the load test does (gunicorn with its
config, production settings, the Redis cache), but with one worker and one thread,
and sends each kind of bench/traffic.py's requests one after another, --samples of
each, URLs drawn as the load test draws them (--seed). Around each kind it reads
the CPU time (user + system, from /proc) of the gunicorn processes, of every
PostgreSQL process (the postmaster's reaped children included: a backend that
ended with its connection) and of Redis, and prints per request: wall time p50 /
p95 and CPU milliseconds by process. Then the mix, weighted as readers pick
(traffic.KINDS): CPU per request, and how many requests a second the machine's
cores could serve at most, against what --users readers ask for (one request
every 2 s each, the think time of the locustfile).

Only 127.0.0.1. Other work on the machine (a corpus being generated) inflates the
PostgreSQL figures: run it on a quiet machine.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import traffic  # noqa: E402
from bench.cpu import sample  # noqa: E402
from bench.load import BIN, add_server_options, free_port, published_archive, wait_until  # noqa: E402


def fetch(url):
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 - 127.0.0.1
            status = response.status
            while response.read(1 << 16):
                pass
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_options(parser)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--export-samples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--kinds", nargs="*", default=list(traffic.KINDS))
    parser.add_argument(
        "--slowest", type=int, default=0, help="print each kind's N slowest URLs (wall time)"
    )
    args = parser.parse_args()

    env, _published, max_id = published_archive(args)
    os.environ["BENCH_MAX_PUBLIC_ID"] = str(max_id)
    from django.db import connections

    connections.close_all()
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    work = Path(tempfile.mkdtemp(prefix="csto-cost-"))
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "csto_site/gunicorn.py", "csto_site.wsgi"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1",
             "GUNICORN_THREADS": "1", "GUNICORN_ACCESS_LOG": str(work / "access.log"),
             "GUNICORN_ERROR_LOG": str(work / "error.log")},
        stderr=(work / "app.log").open("w"),
    )  # fmt: skip
    rng = random.Random(args.seed)
    results, slowest = {}, {}
    try:
        if not wait_until(f"{base}/healthz/"):
            raise SystemExit(f"gunicorn did not answer; see {work}/error.log")
        for _ in range(3):  # the worker's imports, templates and first connection
            fetch(base + "/")
        for kind in args.kinds:
            make = traffic.KINDS[kind][1]
            n = args.export_samples if kind == "export" else args.samples
            walls, statuses, urls = [], {}, []
            before = sample(server.pid)
            for _ in range(n):
                url, _name = make(rng)
                status, wall = fetch(base + url)
                walls.append(wall)
                urls.append((wall, status, url))
                statuses[status] = statuses.get(status, 0) + 1
            after = sample(server.pid)
            cpu = {k: (after[k] - before[k]) / n * 1000 for k in before}
            results[kind] = (walls, cpu, statuses)
            slowest[kind] = sorted(urls, reverse=True)[: args.slowest]
    finally:
        server.terminate()
        server.wait(timeout=45)

    print(f"\n{'kind':<11}{'n':>4}{'wall p50':>10}{'p95':>8}{'app cpu':>9}{'pg cpu':>8}"
          f"{'redis':>7}{'total':>8}  statuses")  # fmt: skip
    for kind, (walls, cpu, statuses) in results.items():
        walls_ms = sorted(w * 1000 for w in walls)
        p95 = walls_ms[min(len(walls_ms) - 1, int(0.95 * len(walls_ms)))]
        print(
            f"{kind:<11}{len(walls):>4}{statistics.median(walls_ms):>10.0f}{p95:>8.0f}"
            f"{cpu['app']:>9.1f}{cpu['postgres']:>8.1f}{cpu['redis']:>7.1f}"
            f"{sum(cpu.values()):>8.1f}  {dict(sorted(statuses.items()))}"
        )
    weights = {k: traffic.KINDS[k][0] for k in results}
    mean = sum(weights[k] * sum(results[k][1].values()) for k in results) / sum(weights.values())
    cores = os.cpu_count()
    asked = args.users / 2.0
    print(
        f"\nthe mix (weighted as readers pick): {mean:.1f} ms of CPU a request; "
        f"{cores} cores serve at most {cores * 1000 / mean:.1f} requests/s; "
        f"{args.users} readers ask for about {asked:.0f}/s"
    )
    for k in results:
        share = weights[k] * sum(results[k][1].values()) / (mean * sum(weights.values()))
        print(f"  {k:<11}{share:>6.0%} of the CPU")
    for kind, urls in slowest.items():
        if urls:
            print(f"\n{kind}, the slowest (wall ms, status, URL):")
            for wall, status, url in urls:
                print(f"  {wall * 1000:>7.0f}  {status}  {url}")
    print(f"logs: {work}")


if __name__ == "__main__":
    main()
