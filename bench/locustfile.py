"""Mixed reader traffic for locust (run by bench/load.py; see its docstring).

Each simulated reader waits 1–3 s between requests, as a person reading does, and
picks, by weight: the home page; the release and position listings with 0–3
random filters; a search (the 20 queries of bench/search.py); a release page; a
version or a passage permalink; a CSV or JSON export of a filtered listing; an
Atom feed. A 503 (the database restarting) is counted apart from other failures
by its name, so the fault run can tell them apart, and so is an export turned away
because every export slot is taken (BUSY).
"""

import os
import random
from urllib.parse import urlencode

from locust import HttpUser, between, task

from bench.search import BUSY, QUERIES

TOPICS = [
    "counter-terrorism", "political-settlement", "sovereignty", "non-interference",
    "regional-stability", "collective-defence", "refugees", "international-law",
    "syria", "afghanistan", "libya", "iraq", "kazakhstan", "tajikistan", "middle-east",
    "central-asia", "isis", "united-nations", "nato", "ceasefire",
]  # fmt: skip
PLACES = ["syria", "afghanistan", "libya", "iraq", "kazakhstan", "central-asia", "middle-east"]
STANCES = ["supports", "welcomes", "affirms", "calls_for", "concern", "condemns", "notes"]
BODIES = ["secretariat", "sg", "cfm", "csc"]
SOURCES = ["sputnik-arabic", "rt-arabic", "tass", "sana", "kuna", "aljazeera", "al-ahram"]
MAX_ID = int(os.environ.get("BENCH_MAX_PUBLIC_ID", "100000"))


def filters(rng, most=3):
    """0–``most`` random filters, as a reader's clicks on facets would set them."""
    choices = [
        ("topic", lambda: rng.choice(TOPICS)),
        ("place", lambda: rng.choice(PLACES)),
        ("stance", lambda: rng.choice(STANCES)),
        ("issuing_body", lambda: rng.choice(BODIES)),
        ("source", lambda: rng.choice(SOURCES)),
        ("date_from", lambda: str(rng.randint(1992, 2020))),
    ]
    picked = rng.sample(choices, rng.randint(0, most))
    params = {name: value() for name, value in picked}
    if "date_from" in params and rng.random() < 0.5:
        params["date_to"] = str(int(params["date_from"]) + rng.randint(0, 6))
    return params


class Reader(HttpUser):
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

    def listing(self, path, params):
        return f"{path}?{urlencode(params)}" if params else path

    @task(2)
    def home(self):
        self.get("/", "home")

    @task(6)
    def releases(self):
        params = filters(self.rng)
        self.get(self.listing("/releases/", params), f"releases, {len(params)} filters")

    @task(6)
    def positions(self):
        params = filters(self.rng)
        self.get(self.listing("/positions/", params), f"positions, {len(params)} filters")

    @task(4)
    def search(self):
        self.get(self.listing("/releases/", {"q": self.rng.choice(QUERIES)}), "search")

    @task(6)
    def release(self):
        self.get(f"/r/{self.rng.randint(1, MAX_ID)}/", "release page")

    @task(1)
    def permalinks(self):
        public_id = self.rng.randint(1, MAX_ID)
        if self.rng.random() < 0.5:
            self.get(f"/r/{public_id}/v/1/", "version page")
        else:
            self.get(f"/r/{public_id}/p/{self.rng.randint(1, 5)}/", "passage permalink")

    @task(1)
    def export(self):
        params = filters(self.rng, most=2)
        params.setdefault("topic", self.rng.choice(TOPICS))
        fmt = self.rng.choice(["csv", "json"])
        listing = self.rng.choice(["releases", "positions"])
        url = self.listing(f"/{listing}/export.{fmt}", params)
        self.get(url, f"export {fmt}")

    @task(1)
    def feed(self):
        params = filters(self.rng, most=2)
        listing = self.rng.choice(["releases", "positions"])
        self.get(self.listing(f"/{listing}/feed/", params), "feed")
