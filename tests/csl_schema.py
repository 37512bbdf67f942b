"""A JSON Schema for the CSL-JSON this archive writes, after the CSL 1.0.2 data schema.

The official ``csl-data.json`` is not published on a package registry this
project may install from, so the rules it states for what we emit are written
out here: an array of items, each with an ``id`` and a ``type`` from CSL's list,
string variables as strings, and date variables as 1 to 3 integer date-parts
(year; year and month; year, month and day), which is how CSL says a date is
known to the year or the month only.
"""

CSL_TYPES = [
    "article", "article-journal", "article-magazine", "article-newspaper", "bill", "book",
    "broadcast", "chapter", "classic", "collection", "dataset", "document", "entry",
    "entry-dictionary", "entry-encyclopedia", "event", "figure", "graphic", "hearing",
    "interview", "legal_case", "legislation", "manuscript", "map", "motion_picture",
    "musical_score", "pamphlet", "paper-conference", "patent", "performance", "periodical",
    "personal_communication", "post", "post-weblog", "regulation", "report", "review",
    "review-book", "software", "song", "speech", "standard", "thesis", "treaty", "webpage",
]  # fmt: skip

DATE = {
    "type": "object",
    "properties": {
        "date-parts": {
            "type": "array",
            "minItems": 1,
            "maxItems": 2,
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": 3,
                "items": {"type": "integer"},
            },
        },
        "literal": {"type": "string"},
        "circa": {"type": ["string", "number", "boolean"]},
    },
    "additionalProperties": False,
}

STRING_VARIABLES = [
    "title", "container-title", "publisher", "archive", "URL", "language", "note",
    "version", "authority", "abstract", "source",
]  # fmt: skip

SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["id", "type"],
        "properties": {
            "id": {"type": ["string", "number"]},
            "type": {"enum": CSL_TYPES},
            **{name: {"type": "string"} for name in STRING_VARIABLES},
            "issued": DATE,
            "accessed": DATE,
        },
        "additionalProperties": False,
    },
}
