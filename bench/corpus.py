"""A deterministic synthetic corpus of Arabic releases for benchmarks.

Bodies of 2–5 KB are recombined from the sentences of the demo texts, each
release about one place (put in place of the seeds' places), with a tail of
rare word-like strings drawn with Zipf-like frequencies, and with the
spelling variation real news has (hamza dropped or moved, ى for ي, ة as ه,
harakat, tatweel, Arabic-Indic digits). The same seed gives the same corpus.
"""

import random
import re

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
    weights = [1 / (rank + 1) for rank in range(len(tail))]  # Zipf-like
    for i in range(n):
        target = rng.randint(2000, 5000)
        parts, size = [], 0
        place = rng.choice(PLACES)
        while size < target:
            if rng.random() < 0.15:
                sentence = " ".join(rng.choices(tail, weights, k=rng.randint(6, 14))) + "."
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
        }
