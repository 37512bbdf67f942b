"""A deterministic synthetic corpus of Arabic releases, for benchmarks and load tests.

``manage.py generate_corpus --releases N --seed S`` (see :func:`build`) loads N
published releases, each with about eight positions, in batches: everything a
real release has (search columns, listing copies, topic entries, version 1 and
the vocabulary), written in bulk.

Bodies of 2–5 KB are recombined from the sentences of the demo texts, each
release about one place (put in place of the seeds' places), with a tail of
rare word-like strings drawn with Zipf-like frequencies, and with the
spelling variation real news has (hamza dropped or moved, ى for ي, ة as ه,
harakat, tatweel, Arabic-Indic digits). The same seed gives the same corpus.
"""

import datetime
import hashlib
import itertools
import random
import re
import time

from statements.demo import DEMO_DIR, read_spec

PLACES = [
    "سورية", "سوريا", "أفغانستان", "ليبيا", "العراق", "السودان", "اليمن", "فلسطين",
    "كازاخستان", "كازخستان", "قرغيزستان", "قيرغيزستان", "طاجيكستان", "أرمينيا", "بيلاروس",
    "روسيا", "أوكرانيا", "أوزبكستان", "إيران", "مصر",
]  # fmt: skip
SEED_PLACES = ["سورية", "أفغانستان", "ليبيا", "العراق", "السودان", "كازاخستان"]
VARIANTS = [
    ("الأمن", "الامن"),
    ("الإرهاب", "الارهاب"),
    ("الشؤون", "الشئون"),
    ("مسؤول", "مسئول"),
    ("الجماعي", "الجماعى"),
    ("إلى", "الى"),
    ("المنظمة", "المنظمه"),
    ("الدولي", "الدولى"),
    ("أكد", "اكد"),
    ("الرئيس", "الرَّئِيسُ"),
    ("الأمم", "الـــأمم"),
]
DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


def pseudo_vocabulary(rng, size=50000):
    """Word-like strings for the long tail of a real vocabulary (names, rare words)."""
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(LETTERS) for _ in range(rng.randint(4, 8))))
    return sorted(words)


def seed_sentences():
    sentences = []
    for item in read_spec()["releases"]:
        raw = (DEMO_DIR / item["file"]).read_text(encoding="utf-8")
        body = raw.partition("\n")[2] if item["file"].startswith("000") else raw
        for part in re.split(r"(?<=[.،؛])\s+|\n", body):
            part = part.strip()
            if len(part) > 20:
                sentences.append(part)
    return sentences


def generate(n, seed=1):
    """Yield n dicts: title, body, dateline, year."""
    rng = random.Random(seed)
    sentences = seed_sentences()
    tail = pseudo_vocabulary(rng)
    # Zipf-like; cumulative, as random.choices would compute them on every call.
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(tail))))
    for i in range(n):
        target = rng.randint(2000, 5000)
        parts, size = [], 0
        place = rng.choice(PLACES)
        while size < target:
            if rng.random() < 0.15:
                sentence = (
                    " ".join(rng.choices(tail, cum_weights=weights, k=rng.randint(6, 14))) + "."
                )
                parts.append(sentence)
                size += len(sentence) + 1
                continue
            sentence = rng.choice(sentences)
            for old in SEED_PLACES:
                if old in sentence:
                    sentence = sentence.replace(old, place)
            for plain, variant in VARIANTS:
                if plain in sentence and rng.random() < 0.25:
                    sentence = sentence.replace(plain, variant, 1)
            if rng.random() < 0.1:
                sentence += f" في عام {rng.randint(1992, 2026)}".translate(
                    DIGITS if rng.random() < 0.5 else {}
                )
            parts.append(sentence)
            size += len(sentence) + 1
            if rng.random() < 0.2:
                parts.append("\n")
        body = " ".join(parts).replace(" \n ", "\n").strip()
        yield {
            "title": f"بيان حول {place} رقم {i}" if rng.random() < 0.4 else "",
            "body": body,
            "dateline": rng.choice(["موسكو", "أستانا", "دوشنبه", "يريفان", "مينسك", ""]),
            "year": rng.randint(1992, 2026),
            "place": place,
        }


# Outlets that report the CSTO in Arabic: (slug, Arabic name, English name, kind, country).
SOURCES = [
    ("sputnik-arabic", "سبوتنيك عربي", "Sputnik Arabic", "news_agency", "روسيا"),
    ("rt-arabic", "روسيا اليوم", "RT Arabic", "broadcaster", "روسيا"),
    ("tass", "وكالة تاس", "TASS", "news_agency", "روسيا"),
    ("ria-novosti", "وكالة ريا نوفوستي", "RIA Novosti", "news_agency", "روسيا"),
    ("sana", "الوكالة العربية السورية للأنباء", "SANA", "news_agency", "سورية"),
    ("ina", "وكالة الأنباء العراقية", "Iraqi News Agency", "news_agency", "العراق"),
    ("kuna", "وكالة الأنباء الكويتية", "KUNA", "news_agency", "الكويت"),
    ("spa", "وكالة الأنباء السعودية", "Saudi Press Agency", "news_agency", "السعودية"),
    ("qna", "وكالة الأنباء القطرية", "Qatar News Agency", "news_agency", "قطر"),
    ("wam", "وكالة أنباء الإمارات", "WAM", "news_agency", "الإمارات"),
    ("petra", "وكالة الأنباء الأردنية", "Petra", "news_agency", "الأردن"),
    ("mena", "وكالة أنباء الشرق الأوسط", "MENA", "news_agency", "مصر"),
    ("aps", "وكالة الأنباء الجزائرية", "Algérie Presse Service", "news_agency", "الجزائر"),
    ("map", "وكالة المغرب العربي للأنباء", "MAP", "news_agency", "المغرب"),
    ("anadolu-arabic", "وكالة الأناضول", "Anadolu Agency", "news_agency", "تركيا"),
    ("kazinform", "وكالة كازإنفورم", "Kazinform", "news_agency", "كازاخستان"),
    ("aljazeera", "الجزيرة نت", "Al Jazeera", "website", "قطر"),
    ("asharq-al-awsat", "صحيفة الشرق الأوسط", "Asharq Al-Awsat", "newspaper", "السعودية"),
    ("al-ahram", "صحيفة الأهرام", "Al-Ahram", "newspaper", "مصر"),
    ("csto-website", "الموقع الرسمي للمنظمة", "CSTO website", "csto", ""),
]  # fmt: skip
# The place topic of each place a body can be about (spelling variants share one).
PLACE_TOPICS = {
    "سورية": "syria", "سوريا": "syria", "أفغانستان": "afghanistan", "ليبيا": "libya",
    "العراق": "iraq", "السودان": "sudan", "اليمن": "yemen", "فلسطين": "palestine",
    "كازاخستان": "kazakhstan", "كازخستان": "kazakhstan", "قرغيزستان": "kyrgyzstan",
    "قيرغيزستان": "kyrgyzstan", "طاجيكستان": "tajikistan", "أرمينيا": "armenia",
    "بيلاروس": "belarus", "روسيا": "russia", "أوكرانيا": "ukraine",
}  # fmt: skip
STANCES = [
    ("affirms", 6), ("supports", 4), ("calls_for", 4), ("welcomes", 3), ("concern", 3),
    ("condemns", 3), ("notes", 2), ("rejects", 1), ("warns", 1),
]  # fmt: skip
BODIES = [("secretariat", 5), ("sg", 4), ("cfm", 3), ("csc", 2), ("cdm", 1), ("cssc", 1),
          ("other", 1), ("unknown", 2)]  # fmt: skip
SUMMARIES = {
    "affirms": "تؤكد المنظمة موقفها من الوضع في {place}",
    "supports": "تؤيد المنظمة الجهود المبذولة بشأن {place}",
    "calls_for": "تدعو المنظمة إلى حل سياسي في {place}",
    "welcomes": "ترحب المنظمة بالتطورات في {place}",
    "concern": "تعرب المنظمة عن قلقها إزاء الوضع في {place}",
    "condemns": "تدين المنظمة الهجمات في {place}",
    "notes": "تشير المنظمة إلى الأوضاع في {place}",
    "rejects": "ترفض المنظمة التدخل الخارجي في {place}",
    "warns": "تحذر المنظمة من تدهور الوضع في {place}",
}
IMPORT_KEY = "corpus:{seed}:{index}"


def _weighted(rng, pairs):
    return rng.choices([value for value, _ in pairs], [weight for _, weight in pairs])[0]


def _dates(rng, year):
    """(published_on, precision, statement_on, statement precision) at mixed precision."""
    day = datetime.date(year, rng.randint(1, 12), rng.randint(1, 28))
    roll = rng.random()
    if roll < 0.8:
        on, precision = day, "day"
    elif roll < 0.9:
        on, precision = day.replace(day=1), "month"
    elif roll < 0.97:
        on, precision = day.replace(month=1, day=1), "year"
    else:
        on, precision = None, "unknown"
    if precision == "day" and rng.random() < 0.3:  # said the day before it was reported
        return on, precision, on - datetime.timedelta(days=1), "day"
    return on, precision, None, "unknown"


def sources():
    """The corpus's outlets, reusing any the archive already has (by slug or name)."""
    from django.db.models import Q

    from statements.models import Source

    found = []
    for slug, name, name_en, kind, country in SOURCES:
        source = Source.objects.filter(Q(slug=slug) | Q(name=name)).first()
        if source is None:
            source = Source.objects.create(
                slug=slug, name=name, name_en=name_en, kind=kind, country=country
            )
        found.append(source)
    return found


def build(releases, seed=1, *, batch=1000, draft_share=0.0, progress=None):
    """Load ``releases`` releases from :func:`generate` into the database, in batches.

    Published (but for ``draft_share`` of drafts), with 5–11 positions each (8 on average)
    on one to three codebook topics (the body's place most often), with everything the
    archive derives from them. ``progress(done, total, seconds)`` is called after each
    batch. Returns the number of releases loaded.
    """
    from django.db import connection, transaction

    from statements import counts, listing
    from statements.models import FacetCount, ListingGeneration, Position, Release, Topic

    if Release.objects.filter(import_key=IMPORT_KEY.format(seed=seed, index=0)).exists():
        raise ValueError(f"the corpus of seed {seed} is already loaded")
    outlets = sources()
    topics = list(Topic.objects.order_by("slug"))
    by_slug = {topic.slug: topic for topic in topics}
    random.Random(seed).shuffle(topics)
    weights = [1 / (rank + 1) for rank in range(len(topics))]  # Zipf-like popularity
    # Loading more than the archive holds, the count tables are rebuilt once at the end
    # rather than updated batch by batch (at 100,000 releases each batch's update touched
    # ~180,000 sums: 20 s a batch); until then they say they need a recount.
    rebuild = releases >= Release.objects.count()
    if rebuild:
        ListingGeneration.objects.update_or_create(pk=1, defaults={"counts_version": ""})
    started = time.perf_counter()
    done, chunk = 0, []
    for index, item in enumerate(generate(releases, seed)):
        chunk.append((index, item))
        if len(chunk) == batch or index == releases - 1:
            with transaction.atomic():
                _load(chunk, seed, outlets, topics, weights, by_slug, draft_share, not rebuild)
            done += len(chunk)
            chunk = []
            if progress:
                progress(done, releases, time.perf_counter() - started)
    if rebuild:
        counts.rebuild(bulk=True)
    listing.changed()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics for the new rows (both databases)
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # The visibility map, so that count lookups (migration 0014) and walks of the
            # listings' ordering indexes (migration 0017) are index-only, as autovacuum
            # leaves a table some time after a bulk load.
            for model in (FacetCount, Release, Position):
                cursor.execute(f"VACUUM {model._meta.db_table}")
    return done


def _load(chunk, seed, outlets, topics, weights, by_slug, draft_share, recount):
    from django.utils import timezone

    from statements import analysis, listing, search, text, versions
    from statements.models import Position, PublicIdentifier, Release, ReleaseVersion

    now = timezone.now()
    issued = PublicIdentifier.objects.bulk_create([PublicIdentifier() for _ in chunk])
    vocabulary = set()
    releases, plans = [], []
    for (index, item), identifier in zip(chunk, issued, strict=True):
        # One generator per release: the corpus does not depend on the batch size.
        rng = random.Random(f"{seed}:{index}")
        on, precision, said_on, said_precision = _dates(rng, item["year"])
        published = rng.random() >= draft_share
        result = analysis.analyze(item["title"], item["body"])
        vocabulary |= result.surfaces
        count = rng.randint(5, 11)
        release = Release(
            public_id=identifier.number,
            title=item["title"],
            body=item["body"],
            body_sha256=Release.fingerprint(item["body"]),
            import_key=IMPORT_KEY.format(seed=seed, index=index),
            dateline=item["dateline"],
            source=rng.choice(outlets),
            issuing_body=_weighted(rng, BODIES),
            published_on=on,
            published_precision=precision,
            statement_on=said_on,
            statement_precision=said_precision,
            status="published" if published else "draft",
            first_published_at=now if published else None,
            published_at=now if published else None,
            last_position_number=count,
            search_tokens=result.tokens,
            search_folded=result.folded,
            search_version=analysis.ANALYZER_VERSION,
        )
        relays = rng.sample(outlets, rng.randint(1, 2)) if rng.random() < 0.2 else []
        relays = [source for source in relays if source != release.source]
        releases.append(release)
        plans.append((item["place"], count, relays, rng))
    Release.objects.bulk_create(releases)
    Release.relayed_from.through.objects.bulk_create(
        [
            Release.relayed_from.through(release=release, source=source)
            for release, (_place, _count, relays, _rng) in zip(releases, plans, strict=True)
            for source in relays
        ]
    )

    positions, chosen = [], []
    for release, (place, count, _relays, rng) in zip(releases, plans, strict=True):
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", release.body)]
        for number in range(1, count + 1):
            first = rng.randrange(len(words) - 12)
            start, end = words[first][0], words[first + rng.randint(3, 11)][1]
            stance = _weighted(rng, STANCES)
            quote = release.body[start:end]
            summary = SUMMARIES[stance].format(place=place)
            prefix, suffix = text.context(release.body, start, end)
            result = analysis.analyze(quote, summary)
            vocabulary |= result.surfaces
            positions.append(
                Position(
                    release=release,
                    number=number,
                    start=start,
                    end=end,
                    quote=quote,
                    prefix=prefix,
                    suffix=suffix,
                    stance=stance,
                    summary=summary,
                    attribution=rng.choice(["direct"] * 6 + ["paraphrase"] * 3 + ["commentary"]),
                    search_tokens=result.tokens,
                    search_folded=result.folded,
                    search_version=analysis.ANALYZER_VERSION,
                )
            )
            picked = set(rng.choices(topics, weights, k=rng.randint(0, 2)))
            if place in PLACE_TOPICS and rng.random() < 0.7:
                picked.add(by_slug[PLACE_TOPICS[place]])
            if not picked:
                picked.add(rng.choices(topics, weights)[0])
            chosen.append(sorted(picked, key=lambda topic: topic.slug))
    Position.objects.bulk_create(positions)
    links = Position.topics.through
    links.objects.bulk_create(
        [
            links(position=position, topic=topic)
            for position, picked in zip(positions, chosen, strict=True)
            for topic in picked
        ]
    )
    listing.refresh([release.pk for release in releases], record_versions=False, recount=recount)

    # Version 1 of each published release: the snapshot statements.versions.record takes
    # (tests/test_corpus.py checks that the two agree).
    by_release = {}
    for position, picked in zip(positions, chosen, strict=True):
        by_release.setdefault(position.release_id, []).append(
            {
                "number": position.number,
                **{name: getattr(position, name) for name in versions.POSITION_FIELDS},
                "topics": [topic.slug for topic in picked],
            }
        )
    recorded = []
    for release, (_place, _count, relays, _rng) in zip(releases, plans, strict=True):
        if release.status != "published":
            continue
        data = {name: versions._plain(getattr(release, name)) for name in versions.FIELDS}
        data["body"] = release.body
        data["source"] = _source_data(release.source)
        data["relays"] = [_source_data(s) for s in sorted(relays, key=lambda s: s.name)]
        data["positions"] = by_release[release.pk]
        recorded.append(
            ReleaseVersion(
                release=release,
                number=1,
                created_at=now,
                snapshot=data,
                body_sha256=hashlib.sha256(release.body.encode("utf-8")).hexdigest(),
                changes=versions.changes(None, data),
            )
        )
    ReleaseVersion.objects.bulk_create(recorded)
    search.record_terms(sorted(vocabulary))


def _source_data(source):
    return {"slug": source.slug, "name": source.name, "name_en": source.name_en}
