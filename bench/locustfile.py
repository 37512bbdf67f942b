"""Mixed reader traffic for locust (run by bench/load.py; see its docstring).

Each simulated reader waits 1–3 s between requests, as a person reading does, and
picks, by weight (bench/traffic.py): the home page; the release and position listings with 0–3
random filters; a search (the 20 queries of bench/search.py); a release page; a
version or a passage permalink; a CSV or JSON export of a filtered listing; an
Atom feed. A 503 (the database restarting) is counted apart from other failures
by its name, so the fault run can tell them apart, and so is an export turned away
because every export slot is taken (BUSY).

The readers use locust's HttpUser (requests), as in every run before the twelfth, or its
FastHttpUser (geventhttpclient) when BENCH_LOCUST_CLIENT is "fast": locust runs on the
machine it measures, but either used about a tenth of a core at 50 readers, and the
figures were the same within the noise (bench/RESULTS.md, twelfth run).
"""

import os
import random

from locust import FastHttpUser, HttpUser, between, task

from bench import traffic
from bench.search import BUSY

CLIENT = FastHttpUser if os.environ.get("BENCH_LOCUST_CLIENT") == "fast" else HttpUser


class Reader(CLIENT):
    network_timeout = connection_timeout = 300.0  # (FastHttpUser's) a long export is no error
    wait_time = between(1, 3)

    def on_start(self):
        self.rng = random.Random()

    def get(self, url, name):
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code == 503 and response.headers.get("Retry-After") == "60":
                # Every export slot taken (CSTO_EXPORT_SLOTS): told to come back in a
                # minute (statements.exports.BUSY_RETRY_AFTER; a database outage says 30).
                response.failure(BUSY)
            elif response.status_code == 503:
                response.failure("503 (database unavailable)")
            elif response.status_code in (404, 410):  # an unused or withdrawn identifier
                response.success()
            elif response.status_code >= 400:
                response.failure(f"HTTP {response.status_code}")

    @task(traffic.KINDS["home"][0])
    def home(self):
        self.get(*traffic.home(self.rng))

    @task(traffic.KINDS["releases"][0])
    def releases(self):
        self.get(*traffic.releases(self.rng))

    @task(traffic.KINDS["positions"][0])
    def positions(self):
        self.get(*traffic.positions(self.rng))

    @task(traffic.KINDS["search"][0])
    def search(self):
        self.get(*traffic.search(self.rng))

    @task(traffic.KINDS["release"][0])
    def release(self):
        self.get(*traffic.release(self.rng))

    @task(traffic.KINDS["permalink"][0])
    def permalink(self):
        self.get(*traffic.permalink(self.rng))

    @task(traffic.KINDS["export"][0])
    def export(self):
        self.get(*traffic.export(self.rng))

    @task(traffic.KINDS["feed"][0])
    def feed(self):
        self.get(*traffic.feed(self.rng))
