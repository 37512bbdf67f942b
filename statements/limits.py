"""Bounds on everything a reader can put in a public URL, and why each number.

Every public page takes its input from the query string and a few path
segments. Each input is bounded here, so that no request, however made, costs
more than a normal page, and no value, however odd, reaches the database in a
form it refuses (PostgreSQL refuses NUL characters in text: Django's form
fields reject them first, as an invalid filter value). A value past its bound
is treated the way a reader would expect:

* a search longer than the bound is searched by its beginning, and the page says
  so ("only its beginning was used"), as the search box (``maxlength``) would
  have cut it;
* a filter value, date or cursor longer than any valid one is an invalid value:
  the listing shows it as an invalid filter chip, an export or feed answers 400;
* a numbered page beyond the last one, or a cursor that names no row, is a 404.

Pure Python (no Django): statements.analysis, which has no Django, uses it too.
"""

# Search (statements.analysis.parse_query) ------------------------------------

#: Characters of a search used; the rest is dropped, and the page says so. The
#: longest sentence of the demo statements is 467 characters: a reader can
#: search any whole sentence as an "exact phrase".
MAX_QUERY_LENGTH = 500

#: Words and phrases of a search used (stopwords do not count). Each costs one
#: full-text group, and a word that matches few records up to three more queries
#: to widen it (statements.search.expand): 12 terms bound a search at about 40
#: small queries. Real searches have 1 to 5 terms.
MAX_QUERY_TERMS = 12

#: A word longer than this is searched as typed, never widened with the
#: vocabulary (substring and similar spellings). Widening a word reads the
#: vocabulary with one pattern per three letters of the word: a 500-letter "word"
#: made 498 ``LIKE`` patterns over every term. The longest word of the demo texts
#: has 16 letters; no Arabic word comes near 40.
MAX_WIDENED_WORD_LENGTH = 40

# Listings (statements.views, statements.paging) -------------------------------

#: Results per page of a listing.
PAGE_SIZE = 20

#: Pages of results ranked by relevance, numbered (?page=): these are read with
#: ``OFFSET``, so at most PAGE_SIZE × RANKED_PAGES = 1,000 rows are ever skipped.
#: Past that a reader refines the search or orders by date (keyset pages, no
#: limit and no ``OFFSET``); a page number beyond the last page is a 404.
RANKED_PAGES = 50

#: A search matching more records than this is broad: relevance ranks only its newest
#: BROAD_SEARCH matches, its total is shown as "more than BROAD_SEARCH" and its facets
#: are not counted. Ranking and counting every match is what a search costs: at
#: 100,000 releases a common word (half the archive) took 20–40 s a page, and under
#: load such pages held every worker (bench/RESULTS.md). Ranking 2,000 matches costs
#: about a tenth of a second there; ordered by date, every match is still listed.
#: (Read from this module at each request: tests lower it with monkeypatch.)
BROAD_SEARCH = 2000

#: The count tables (statements.counts) answer a listing's facets for most filter sets;
#: the rest are counted from the records: a topic or a place with two of stance, body
#: and source, or a topic and a place with one. Counted from 10,000 records, one such
#: facet took 0.6-1.9 s of PostgreSQL at 100,000 releases, and under load these few
#: pages used half of its time (bench/RESULTS.md). So a facet is counted from the
#: records only when the tables say it would be at most LIVE_COUNTS records
#: (statements.facets.at_most); otherwise it is shown without its values, with a
#: note, and its filter stays in the form. (Read at each request: tests lower it.)
LIVE_COUNTS = 2000

#: A listing in date order that the count tables say has at most KEYS_FIRST results
#: (statements.facets.at_most) reads their keys first, unordered, then orders those
#: records by key (statements.filters.ArchiveFilterSet.few_matches), instead of walking
#: the ordering's index through records that do not match. As many keys as a bounded
#: search's (BROAD_SEARCH), ordered the same way.
KEYS_FIRST = BROAD_SEARCH

#: A page of positions on a topic walks the listing entries of the topic and of each
#: narrower topic, one query each, newest first (statements.paging.Walk); more topics than
#: this in all, the topic itself included (the codebook's broadest has four narrower
#: ones), and they are read together and sorted instead.
MAX_WALKED_TOPICS = 8

#: On PostgreSQL a source filter gives the releases the source relayed as one array of
#: keys (statements.filters.ArchiveFilterSet.source_condition); a source that relayed more
#: than this (1,400-1,500 each at 100,000 releases) is given as a subquery, as on SQLite,
#: rather than as 100 KB of keys written into each query.
MAX_RELAYED_KEYS = 10000

#: Characters of a ``?after=`` / ``?before=`` cursor. The longest valid one is a
#: date, a 19-digit identifier and a position number: "2018-11-08.4611686018427387904.
#: 4294967295", 41 characters. Longer is garbage, refused before it is parsed.
MAX_CURSOR_LENGTH = 100

#: The largest number in a cursor: PostgreSQL's bigint holds up to 2**63 - 1.
MAX_CURSOR_NUMBER = 2**62

# Filters (statements.filters) -------------------------------------------------

#: Characters of a topic, place or source slug in a filter: the longest slug the
#: database can hold (Source.slug's max_length; Topic.slug's is 100). A longer
#: value cannot name anything: it is an invalid value, found without a query.
MAX_SLUG_LENGTH = 200

#: Characters of a date filter: "2018-11-08" (or "٢٠١٨-١١-٠٨") is the longest.
MAX_DATE_LENGTH = 10

#: Years a date filter accepts. Python's dates end at 9999; the last day of
#: 9998 plus one day (the end of a range, statements.filters.date_bound) must
#: still be a date.
MIN_YEAR, MAX_YEAR = 1, 9998

# Every filter (topic, place, stance, issuing_body, source, date_from, date_to,
# q, o) takes one value: a parameter repeated in the query string is read once
# (its last value, QueryDict.get), so ``?topic=a&topic=b…`` repeated 1,000 times
# builds one condition, never 1,000. The query string as a whole is capped by
# Django's DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000 parameters; more is a 400), and
# its length by the HTTP server (gunicorn's limit_request_line: 4,094 bytes of
# request line, 414 beyond).

# Exports and feeds (statements.exports) ---------------------------------------

#: Entries of an Atom feed: the newest, as feed readers poll for what is new.
FEED_ITEMS = 50

#: Rows an export reads from the database at a time.
EXPORT_CHUNK = 1000

# An export (CSV, JSON) has no cap on its rows, on purpose: it is the open-data
# copy of a listing, and "every matching row" is its promise (the README). It
# costs one query per EXPORT_CHUNK rows and streams each row as it is written,
# so memory stays bounded whatever the size; the whole archive at its target size
# is what a research export is for. Its filters are bounded as above.
