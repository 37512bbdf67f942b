"""The mixed reader traffic of the load test, as URLs: what bench/locustfile.py asks
for and what bench/cost.py measures one kind at a time (kept apart from the locustfile,
whose import of locust patches the standard library with gevent).

Each kind makes one request's URL and the name it is reported under; ``WEIGHTS`` says
how often a reader picks it.
"""

import os
from urllib.parse import urlencode

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


def max_public_id():
    return int(os.environ.get("BENCH_MAX_PUBLIC_ID", "100000"))


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


def listing(path, params):
    return f"{path}?{urlencode(params)}" if params else path


def home(rng):
    return "/", "home"


def releases(rng):
    params = filters(rng)
    return listing("/releases/", params), f"releases, {len(params)} filters"


def positions(rng):
    params = filters(rng)
    return listing("/positions/", params), f"positions, {len(params)} filters"


def search(rng):
    from bench.search import QUERIES

    return listing("/releases/", {"q": rng.choice(QUERIES)}), "search"


def release(rng):
    return f"/r/{rng.randint(1, max_public_id())}/", "release page"


def permalink(rng):
    public_id = rng.randint(1, max_public_id())
    if rng.random() < 0.5:
        return f"/r/{public_id}/v/1/", "version page"
    return f"/r/{public_id}/p/{rng.randint(1, 5)}/", "passage permalink"


def export(rng):
    params = filters(rng, most=2)
    params.setdefault("topic", rng.choice(TOPICS))
    fmt = rng.choice(["csv", "json"])
    kind = rng.choice(["releases", "positions"])
    return listing(f"/{kind}/export.{fmt}", params), f"export {fmt}"


def feed(rng):
    params = filters(rng, most=2)
    kind = rng.choice(["releases", "positions"])
    return listing(f"/{kind}/feed/", params), "feed"


# kind: (how often a reader picks it, relative to the others; its URL maker)
KINDS = {
    "home": (2, home),
    "releases": (6, releases),
    "positions": (6, positions),
    "search": (4, search),
    "release": (6, release),
    "permalink": (1, permalink),
    "export": (1, export),
    "feed": (1, feed),
}
