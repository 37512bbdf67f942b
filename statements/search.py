"""Full-text search over releases and positions, the same on SQLite and PostgreSQL.

The analyzer (statements.analysis) writes ready-made tokens into derived
columns (``search_tokens``, ``search_folded``); the databases only match them:

* PostgreSQL: a GIN index on ``search_vector``, a stored generated column
  ``to_tsvector('simple', search_tokens)``, and a pg_trgm GIN index on
  ``search_folded`` (exact phrases);
* SQLite: FTS5 external-content tables kept in sync by triggers, one over
  ``search_tokens`` and one trigram table over ``search_folded``.

Queries are built from analyzed tokens only (letters and digits), passed as
parameters: nothing a reader types reaches FTS5 or tsquery syntax.

A word matches a record if any of its forms (stem, surface form) is among the
record's tokens. A word that matches few records is widened with the
vocabulary (``SearchTerm``): words that contain it (غيزستان → قرغيزستان) and
words spelt nearly the same (كازاخستان → كازخستان); topic aliases widen a word
always (سوريا → سورية). Those expansions are computed in Python from the same
candidates on both databases, so the result sets are identical.
"""

from __future__ import annotations

import bisect
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, connections, router, transaction
from django.db.models import BooleanField, FloatField, Q
from django.db.models.expressions import Expression, RawSQL

from . import analysis
from .analysis import Query, Term
from .limits import MAX_WIDENED_WORD_LENGTH

FEW_MATCHES = 3  # a word matching fewer records than this is widened
MAX_SUBSTRING_TERMS = 20
MAX_FUZZY_TERMS = 5


def search_fields(*texts):
    """The derived column values for a record made of ``texts``, and its words."""
    return fields_of(analysis.analyze(*texts))


def fields_of(result):
    """:func:`search_fields` of an :class:`~statements.analysis.Analysis` made already."""
    return {
        "search_tokens": result.tokens,
        "search_folded": result.folded,
        "search_version": analysis.ANALYZER_VERSION,
    }, result.surfaces


def record_terms(surfaces):
    """Add words to the vocabulary used for substring and fuzzy matching."""
    from .models import SearchTerm

    terms = [SearchTerm(term=s) for s in surfaces if len(s) <= SearchTerm.MAX_LENGTH]
    if terms:
        SearchTerm.objects.bulk_create(terms, ignore_conflicts=True, batch_size=500)


# Backends ------------------------------------------------------------------


class PostgreSQLBackend:
    vendor = "postgresql"

    @staticmethod
    def _tsquery(tokens):
        return " | ".join(f"'{t}'" for t in sorted(tokens))

    # Excluded words go into the words' own tsquery ("a & !b"): the GIN index, which
    # knows which of the query's words each record has, then drops their records
    # itself, where "NOT (vector @@ b)" read each candidate's vector once more
    # (أفغانستان -المخدرات at 100,000 releases: 181 → 45 ms, bench/RESULTS.md).
    def tokens_match(self, table, groups, excluded=()):
        """Records with a token of every group (groups: sets of alternative tokens) and
        none of the ``excluded`` groups' tokens (at least one group is needed)."""
        # search_vector is to_tsvector('simple', search_tokens), a stored
        # generated column (search_schema), so no row is parsed at query time;
        # one tsquery for all groups reads each row's vector once.
        query = " & ".join(
            [f"({self._tsquery(group)})" for group in groups]
            + [f"!({self._tsquery(group)})" for group in excluded]
        )
        return "{t}.search_vector @@ to_tsquery('simple', %s)", [query]

    def phrase_match(self, table, phrase, anchor=frozenset()):
        """Records with the folded ``phrase``. With its ``anchor`` (the tokens every
        record that has it has, however spelled: Term.required), those tokens first,
        through the GIN index, so that only their records' text is read: "Syrian Arab
        Republic", an alias of سورية, read the text of every release (1.2 s at
        100,000) where the index leaves the few hundred that have its three words."""
        like = "{t}.search_folded LIKE %s"
        pattern = f"%{_like_escape(phrase)}%"
        if not anchor:
            return like, [pattern]
        words, params = self.tokens_match(table, [{token} for token in sorted(anchor)])
        return f"({words} AND {like})", [*params, pattern]

    def ranked(self, queryset, table, tokens):
        sql = f'ts_rank("{table}"."search_vector", to_tsquery(\'simple\', %s))'
        return queryset.annotate(
            search_rank=RawSQL(sql, [self._tsquery(tokens)], output_field=FloatField())
        )

    def vocabulary_containing(self, fragment, limit):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT term FROM statements_searchterm WHERE term LIKE %s AND term <> %s "
                "ORDER BY term LIMIT %s",
                [f"%{_like_escape(fragment)}%", fragment, limit],
            )
            return [row[0] for row in cursor.fetchall()]

    def vocabulary_sharing_trigram(self, word):
        grams = sorted(analysis.interior_trigrams(word))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT term FROM statements_searchterm WHERE term LIKE ANY(%s)",
                [[f"%{_like_escape(g)}%" for g in grams]],
            )
            return [row[0] for row in cursor.fetchall()]


class SQLiteBackend:
    vendor = "sqlite"

    @staticmethod
    def _fts(tokens):
        return " OR ".join(f'"{t}"' for t in sorted(tokens))

    def tokens_match(self, table, groups, excluded=()):
        """Records with a token of every group (groups: sets of alternative tokens) and
        none of the ``excluded`` groups' tokens (at least one group is needed)."""
        # FTS5's NOT binds tighter than AND: "(a) AND (b) NOT (c)" is a, b and not c.
        query = " AND ".join(f"({self._fts(g)})" for g in groups)
        query += "".join(f" NOT ({self._fts(g)})" for g in excluded)
        return (
            f"{{t}}.id IN (SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH %s)",
            [query],
        )

    def phrase_match(self, table, phrase, anchor=frozenset()):
        # The trigram table finds candidates; the LIKE keeps exact, case-sensitive matches.
        # (``anchor``, the phrase's words, is not needed: the trigram table is as narrow.)
        return (
            f"({{t}}.id IN (SELECT rowid FROM {table}_trgm WHERE {table}_trgm MATCH %s) "
            "AND instr({t}.search_folded, %s) > 0)",
            [f'"{phrase}"', phrase],
        )

    def ranked(self, queryset, table, tokens):
        # bm25() is only cheap inside the FTS query itself: join the FTS table
        # (a correlated subquery per row is 30× slower). The join also filters,
        # so it is used only when every result has one of ``tokens``.
        fts = f"{table}_fts"
        return queryset.extra(  # noqa: S610 - constant table names; the query is a parameter
            select={"search_rank": f"-bm25({fts})"},
            tables=[fts],
            # The unary + keeps SQLite from probing the FTS table once per row by
            # rowid: the MATCH drives the join, each result found by primary key.
            where=[f'+{fts}.rowid = "{table}"."id"', f"{fts} MATCH %s"],
            params=[self._fts(tokens)],
        )

    def vocabulary_containing(self, fragment, limit):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT term FROM statements_searchterm WHERE id IN "
                "(SELECT rowid FROM statements_searchterm_trgm "
                " WHERE statements_searchterm_trgm MATCH %s) "
                "AND instr(term, %s) > 0 AND term <> %s ORDER BY term LIMIT %s",
                [f'"{fragment}"', fragment, fragment, limit],
            )
            return [row[0] for row in cursor.fetchall()]

    def vocabulary_sharing_trigram(self, word):
        grams = sorted(analysis.interior_trigrams(word))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT term FROM statements_searchterm WHERE id IN "
                "(SELECT rowid FROM statements_searchterm_trgm "
                " WHERE statements_searchterm_trgm MATCH %s)",
                [" OR ".join(f'"{g}"' for g in grams)],
            )
            return [row[0] for row in cursor.fetchall()]


def _like_escape(value):
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def backend():
    if connection.vendor == "postgresql":
        return PostgreSQLBackend()
    if connection.vendor == "sqlite":
        return SQLiteBackend()
    raise NotImplementedError(f"search does not support {connection.vendor}")


# Expansion -----------------------------------------------------------------


@dataclass
class Expansion:
    """Words added to a query word, to tell the reader ("also matching ...")."""

    word: str
    aliases: list[str] = field(default_factory=list)
    containing: list[str] = field(default_factory=list)
    similar: list[str] = field(default_factory=list)

    @property
    def shown(self):
        return self.containing + self.similar


def topic_aliases():
    """Folded surface form → the folded alternatives of the same codebook topic."""
    from .models import Topic

    groups = {}
    for name_ar, name_en, aliases in Topic.objects.values_list("name_ar", "name_en", "aliases"):
        names = [name_ar, name_en, *(a for a in aliases.splitlines() if a.strip())]
        terms = [
            t
            for t in (
                analysis.word_term(n) if " " not in n.strip() else analysis.phrase_term(n)
                for n in names
            )
            if t
        ]
        for term in terms:
            if term.surface:
                groups.setdefault(term.surface, []).extend(terms)
    return groups


def expand(query: Query, model, be=None) -> list[Expansion]:
    """Widen the query's words in place (aliases always; vocabulary when a word matches few)."""
    be = be or backend()
    aliases = topic_aliases()
    expansions = []
    for term in [*query.terms(), *query.excluded]:
        if not term.surface:
            continue  # an exact phrase is not widened
        found = Expansion(term.raw)
        for alias in aliases.get(term.surface, []):
            if alias.tokens and alias.surface != term.surface:
                term.tokens = term.tokens | alias.tokens
                found.aliases.append(alias.raw)
        # The aliases' words first, their names next: a name is skipped when it has
        # one of the words, whichever alias brought that word.
        for alias in aliases.get(term.surface, []):
            named = zip(alias.phrases, alias.anchors, alias.required, strict=True)
            for phrase, anchor, required in named:
                # A name that contains the word itself ("الجمهورية العربية السورية"
                # for سورية), however it is spelled, finds nothing more: skip its
                # costly phrase match.
                if required & term.tokens:
                    continue
                term.phrases = (*term.phrases, phrase)
                term.anchors = (*term.anchors, anchor)
                term.required = (*term.required, required)
                found.aliases.append(alias.raw)
        widened = analysis.MIN_FUZZY_LENGTH <= len(term.surface) <= MAX_WIDENED_WORD_LENGTH
        if widened and matches_few(model, be, term):
            containing = be.vocabulary_containing(term.surface, MAX_SUBSTRING_TERMS)
            similar = sorted(
                (
                    (analysis.similarity(term.surface, t), t)
                    for t in be.vocabulary_sharing_trigram(term.surface)
                    if t != term.surface
                    and t not in containing
                    and len(t) >= analysis.MIN_FUZZY_LENGTH
                ),
                key=lambda pair: (-pair[0], pair[1]),
            )
            similar = [t for score, t in similar if score >= analysis.FUZZY_THRESHOLD]
            similar = similar[:MAX_FUZZY_TERMS]
            found.containing, found.similar = containing, similar
            term.tokens = term.tokens | frozenset(containing) | frozenset(similar)
            # A name whose words the widening brought is skipped now too.
            named = zip(term.phrases, term.anchors, term.required, strict=True)
            kept = [(p, a, r) for p, a, r in named if not r & term.tokens]
            term.phrases = tuple(p for p, _a, _r in kept)
            term.anchors = tuple(a for _p, a, _r in kept)
            term.required = tuple(r for _p, _a, r in kept)
        if found.aliases or found.shown:
            expansions.append(found)
    return expansions


# Matching ------------------------------------------------------------------


class OnOwnTable(Expression):
    """A condition in SQL on the query's own table, written with ``{t}`` for it.

    ``{t}`` is the table's name in a query, and its alias (U0...) when the query
    is a subquery (``pk__in=filtered.values("pk")``, as facet counts use it):
    SQL naming the table would break there.
    """

    output_field = BooleanField()

    def __init__(self, sql, params):
        super().__init__()
        self.sql, self.params = sql, params

    def as_sql(self, compiler, connection):
        alias = next(iter(compiler.query.alias_map))
        return self.sql.format(t=compiler.quote_name(alias)), list(self.params)


def term_condition(table, term: Term, be, tokens=True) -> Q:
    """The records ``term`` matches; with ``tokens`` False, those that have one of its
    phrases (its tokens are matched elsewhere: an excluded word's, in its clause's
    tsquery)."""
    parts = []
    if term.tokens and tokens:
        parts.append(Q(OnOwnTable(*be.tokens_match(table, [term.tokens]))))
    # A phrase that is an alternative to words (a name among a word's aliases) is
    # matched by its anchor's words first: the alternatives are then all found through
    # the word index. An exact phrase on its own is left to the plans of the trigram
    # index or of the newest-first walk (walks_newest), which its anchor only slows.
    anchors = term.required if term.tokens and term.required else ((),) * len(term.phrases)
    for phrase, anchor in zip(term.phrases, anchors, strict=True):
        parts.append(Q(OnOwnTable(*be.phrase_match(table, phrase, frozenset(anchor)))))
    condition = Q()
    for part in parts:
        condition |= part
    return condition


def matches_few(model, be, term):
    """Whether the word (with its aliases' words) is in fewer than FEW_MATCHES records."""
    table = model._meta.db_table
    matching = model._base_manager.filter(OnOwnTable(*be.tokens_match(table, [term.tokens])))
    # Unordered: the model's ordering would sort every match (a second at 100,000
    # releases for a common word) to keep three.
    with plans(using=matching.db):
        found = len(matching.order_by().values_list("pk", flat=True)[:FEW_MATCHES])
    return found < FEW_MATCHES


# Query plans (PostgreSQL) -----------------------------------------------------
#
# Matching a record's words through the GIN index reads no text: the index alone
# says which records have them. Any other plan matches row by row, and each row's
# vector (or folded text) is stored out of line, compressed: reading it costs about
# 20 µs, which PostgreSQL's planner does not count. At 100,000 releases it chose to
# walk a date index and test each row for a word in 5 % of them (0.8 s to find 2,000)
# where the index finds every match in 12 ms (bench/RESULTS.md).

_PLANS = {
    # Words from the index, every other condition from a bitmap of its own index.
    "index": {
        "enable_seqscan": "off",
        "enable_indexscan": "off",
        "enable_bitmapscan": "on",
        "enable_sort": "on",
    },
    # An exact phrase of common words, of which there are many matches: its text must
    # be read anyway (the trigram index only says which records may have it), so
    # read the newest records first, and stop at the number wanted.
    "newest": {
        "enable_seqscan": "off",
        "enable_indexscan": "on",
        "enable_bitmapscan": "off",
        "enable_sort": "off",
    },
}


@contextmanager
def plans(kind="index", using=None):
    """Run the queries of the block on database ``using`` (by default where the router
    sends reads: a reader's go to the replica, when there is one) with PostgreSQL's
    plans of ``kind`` (see _PLANS); nothing elsewhere. Set for the block's transaction
    only (a pooled connection is left as it was), and reset at its end when the block
    is part of a larger one."""
    using = using or router.db_for_read(None)
    if connections[using].vendor != "postgresql":
        yield
        return
    names = sorted(_PLANS[kind])
    reads = ", ".join("current_setting(%s)" for _ in names)
    sets = ", ".join("set_config(%s, %s, true)" for _ in names)
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT {reads}, {sets}",
            [*names, *(value for name in names for value in (name, _PLANS[kind][name]))],
        )
        before = cursor.fetchone()[: len(names)]
        yield
        # As they were: the defaults, or an enclosing block's.
        cursor.execute(
            f"SELECT {sets}", [v for pair in zip(names, before, strict=True) for v in pair]
        )


# A broad search's newest matches are found by walking the records newest first when
# that walk is short: when at least WALK_SHARE of the newest WALK_SAMPLE records match.
# Any other plan reads every match (or, as PostgreSQL prefers for a query of several
# common words, every record's vector): "منظمة معاهدة الامن الجماعي", in 99 % of the
# releases, took 0.8 s that way at 100,000; walking, it reads about 2,000 vectors.
WALK_SAMPLE = 200
WALK_SHARE = 1 / 3


def dense(matching, listed, ordering, wanted):
    """Whether walking the ``listed`` records by ``ordering`` finds ``wanted`` of
    ``matching`` soon (PostgreSQL; elsewhere False): at least WALK_SHARE of them match
    among the first WALK_SAMPLE, and again as deep as the walk would go at that share
    (a word common lately but rare before would otherwise be walked through the whole
    archive). Each sample is matched by key."""
    if connections[matching.db].vendor != "postgresql":
        return False
    walked = listed.order_by(*ordering).values_list("pk", flat=True)
    depth = int(wanted / WALK_SHARE)
    for start in (0, max(0, depth - WALK_SAMPLE)):
        sample = list(walked[start : start + WALK_SAMPLE])
        if len(sample) < WALK_SAMPLE:
            # A small archive (any plan is quick), or one that ends before the walk would.
            return start > 0
        with plans("newest", using=matching.db):
            hits = matching.order_by().filter(pk__in=sample).count()
        if hits < WALK_SHARE * WALK_SAMPLE:
            return False
    return True


# How deep (in WALK_SHARE's depths) a walk found dense is allowed to go before its
# matches are counted through the index instead (newest_matches).
WALK_BOUND = 2


def newest_matches(matching, listed, keys, wanted, query):
    """Up to ``wanted`` + 1 keys of ``matching``: its newest records (``keys``: the
    listing's newest-first ordering), newest first, or, when there are no more than
    ``wanted``, all of them. More than ``wanted`` says the search is broad. On PostgreSQL
    the matches are read once where probing them and then finding the newest read them
    twice (20–50 ms each at 100,000 releases, bench/RESULTS.md).

    Through the word index when the newest records are not dense with matches (see
    dense); else by a walk of the records newest first that stops WALK_BOUND times as deep
    as dense sampled, and only when that stopped walk finds too few, by the probe (up to
    ``wanted`` + 1 matches through the index) and then, if it is broad, the whole walk.
    None on SQLite, and for an exact phrase that is not dense (all its candidates' texts
    would be read: the caller probes it first)."""
    if connections[matching.db].vendor != "postgresql":
        return None
    from .paging import order_by

    ordering = order_by(keys)
    newest = matching.order_by(*ordering).values_list("pk", flat=True)
    if not dense(matching, listed, ordering, wanted):
        if walks_newest(query):
            return None
        with plans("index", using=matching.db):
            return list(newest[: wanted + 1])
    first = keys[0]
    depth = int(wanted / WALK_SHARE) * WALK_BOUND
    edge = list(listed.order_by(*ordering).values_list(first.field, flat=True)[depth : depth + 1])
    bounded = newest
    if edge and edge[0] is not None:
        # A bound on the ordering's leading column: the walk stops there. (An undated
        # edge: the walk would go on through every undated record; no walk is bounded.)
        lookup = "gte" if first.descending else "lte"
        bounded = newest.filter(**{f"{first.field}__{lookup}": edge[0]})
    if not edge or edge[0] is not None:
        with plans("newest", using=matching.db):
            found = list(bounded[: wanted + 1])
        # Without an edge the walk read every record: what it found is all there is.
        if len(found) > wanted or not edge:
            return found
    with plans("index", using=matching.db):
        found = list(matching.order_by().values_list("pk", flat=True)[: wanted + 1])
    if len(found) <= wanted:
        return found  # every match
    with plans("newest", using=matching.db):
        return list(newest[: wanted + 1])


def walks_newest(query: Query) -> bool:
    """Whether every match of ``query`` must be read to be known (it needs an exact
    phrase), so that the newest of many matches are best found newest first."""
    return bool(query.clauses) and all(
        any(t.phrases and not t.tokens for t in clause) for clause in query.clauses
    )


def query_condition(table, query: Query, be, excluded=()) -> Q:
    """The records of any of ``query``'s clauses, without any of the ``excluded`` groups
    of tokens (each clause excludes them in its own full-text expression)."""
    condition = Q()
    for clause in query.clauses:
        # The words of a clause are matched in one full-text expression.
        words = [t.tokens for t in clause if t.tokens and not t.phrases]
        conjunction = Q()
        if words:
            conjunction &= Q(OnOwnTable(*be.tokens_match(table, words, excluded)))
        elif excluded:
            # No words to hold the exclusions: theirs is an expression of its own.
            every = frozenset().union(*excluded)
            conjunction &= ~Q(OnOwnTable(*be.tokens_match(table, [every])))
        for term in clause:
            if term.phrases:
                conjunction &= term_condition(table, term, be)
        condition |= conjunction
    return condition


@dataclass
class SearchResult:
    queryset: object
    query: Query
    expansions: list[Expansion]
    ranked: bool = False  # the queryset has a search_rank to order by

    @property
    def rankable(self):
        """Whether results can be scored (see with_rank)."""
        clauses = self.query.clauses
        return bool(clauses) and all(any(t.rank_safe for t in c) for c in clauses)

    @property
    def tokens(self):
        out = set()
        for term in self.query.terms():
            out |= term.tokens
        return out

    @property
    def rank_tokens(self):
        """Words every result has at least one of, for scoring: the words matched and the
        searchable words of the phrases matched."""
        out = set()
        for term in self.query.terms():
            out |= term.tokens
            for anchor in term.anchors:
                out |= anchor
        return out

    @property
    def phrases(self):
        return [p for term in self.query.terms() for p in term.phrases]


def search(queryset, text, *, rank=True, same_as=None):
    """Filter ``queryset`` (of Release or Position) by what a reader typed.

    Returns a SearchResult whose queryset has a ``search_rank`` to order by
    (``result.ranked``) when the query has words. An empty or unsearchable
    query leaves the queryset unfiltered. ``same_as``, an earlier result for
    the same text and model, saves parsing and widening the query again.
    """
    model = queryset.model
    table = model._meta.db_table
    be = backend()
    if same_as is not None and same_as.queryset.model is model:
        query, expansions = same_as.query, same_as.expansions
    else:
        query, expansions = analysis.parse_query(text), None
    if query.is_empty and not query.excluded:
        return SearchResult(queryset, query, [])
    if expansions is None:
        expansions = expand(query, model, be)
    # Excluded words are matched with the words of each clause (query_condition); what
    # is left to exclude on its own is their phrases, or all of an exclusion-only query.
    folded = not query.is_empty
    if folded:
        excluded = [term.tokens for term in query.excluded if term.tokens]
        queryset = queryset.filter(query_condition(table, query, be, excluded))
    for term in query.excluded:
        if not folded or term.phrases:
            queryset = queryset.exclude(term_condition(table, term, be, tokens=not folded))
    result = SearchResult(queryset, query, expansions)
    return with_rank(result, queryset) if rank else result


def with_rank(result, queryset):
    """``queryset`` (a search's results, further filtered) given a ``search_rank``, when
    the query can be scored: then ``result.ranked`` is set and ``result.queryset`` is it.

    Scoring needs, in every result, one of the scored words. A result always has
    the words of the phrase it matched, unless the phrase is only common words
    ("إلا من"): a query with such a phrase is listed newest first.
    """
    if result.rankable:
        table = queryset.model._meta.db_table
        result.queryset = backend().ranked(queryset, table, result.rank_tokens)
        result.ranked = True
    return result


# Highlighting ----------------------------------------------------------------


SPAN_CHUNK = 600  # characters analyzed at a time when only the first matches are wanted


def match_spans(text, tokens, phrases, *, first=None):
    """Offsets (start, end) in the canonical ``text`` of the words a search matched.

    With ``first`` (a number of characters), only the first match and those that begin
    within ``first`` characters after it are sure to be found: what a snippet shows,
    found without analyzing the rest of a long text (20 results' bodies were a third of
    a search page's time at 100,000 releases)."""
    if not tokens and not phrases:
        return []  # nothing to find (a search that only excludes words)
    if first is None:
        return _hits(analysis.word_spans(text), tokens, phrases)
    # A phrase that begins within reach ends at most this many words after it.
    after = max((len(p.split()) for p in phrases), default=1) - 1
    words, done, reach = [], 0, None
    while done < len(text):
        end = done + SPAN_CHUNK
        gap = _WHITESPACE.search(text, end)  # words never span whitespace
        end = gap.start() if gap else len(text)
        # Until a match, only the new words are looked at (with the few before them
        # that a phrase may begin with): a long text without one costs its length.
        unseen = max(0, len(words) - after)
        words += [(s + done, e + done, f) for s, e, f in analysis.word_spans(text[done:end])]
        done = end
        if reach is None and (hits := _hits(words[unseen:], tokens, phrases)):
            reach = hits[0][0] + first
        if reach is not None and done > reach:
            beyond = len(words) - bisect.bisect_right(words, reach, key=lambda w: w[0])
            if beyond >= after:
                break
    return _hits(words, tokens, phrases)


_WHITESPACE = re.compile(r"\s")


def _hits(spans, tokens, phrases):
    hits = [(s, e) for s, e, forms in spans if tokens & set(forms.tokens)]
    fulls = [forms.full for _, _, forms in spans]
    for phrase in phrases:
        words = phrase.split()
        n = len(words)
        for i in range(len(spans) - n + 1):
            if fulls[i : i + n] == words:
                hits.append((spans[i][0], spans[i + n - 1][1]))
    return merge_spans(hits)


def merge_spans(spans):
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def snippet(text, spans, width=220):
    """A window of ``text`` around its first match, as runs of (text, is_match)."""
    if not spans:
        cut = text[:width]
        return [(cut + ("…" if len(text) > width else ""), False)]
    first = spans[0][0]
    start = max(0, first - width // 3)
    if start:
        space = text.rfind(" ", 0, start + 1)
        start = space + 1 if space > start - 30 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.find(" ", end)
        end = space if 0 <= space < end + 30 else end
    runs, cursor = [], start
    if start:
        runs.append(("…", False))
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        if s > cursor:
            runs.append((text[cursor:s], False))
        runs.append((text[s:e], True))
        cursor = e
    if cursor < end:
        runs.append((text[cursor:end], False))
    if end < len(text):
        runs.append(("…", False))
    return runs
