"""Arabic search: the cases of docs/arabic.md, on whichever database the suite runs on.

CI runs this file on SQLite and on PostgreSQL with the same expected id sets,
so passing on both means both databases return the same results. A reference
evaluation in pure Python (TestSameAsReference) checks the database matching
against the analyzer's own semantics.
"""

import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from statements import analysis, search, search_schema
from statements.models import Position, Release, SearchTerm
from tests.factories import make_release, make_source

pytestmark = pytest.mark.django_db

CORPUS = {
    "vocalized": "قال الرَّئِيسُ إن المنظمة تدعم الحوار.",
    "plain": "أكد الرئيس أهمية التعاون.",
    "tatweel": "صدر كتـــاب جديد عن الأمن.",
    "presentation": "بيان ﻣﻨﻈﻤﺔ التعاون.",
    "indic": "في عام ٢٠٢٤ عقدت القمة.",
    "persian-digits": "في عام ۲۰۲۴ عقد الاجتماع.",
    "latin-digits": "في عام 2024 صدر البيان.",
    "officials": "التقى المسئولون في موسكو.",
    "official": "قال مسؤول روسي إن الاجتماع ناجح.",
    "illa": "لا حل إلا بالحوار.",
    "ala": "أكد على ضرورة الحوار.",
    "ali": "استقبل الرئيس علي عبد الله الوفد.",
    "conjunction": "وأكدت والمنظمة دعمها.",
    "minister": "التقى الوزير بنظيره.",
    "minister-bare": "قال وزير الخارجية إن الحوار مستمر.",
    "kyrgyz-1": "زار الوفد قيرغيزستان أمس.",
    "kyrgyz-2": "وصل الوفد إلى قرغيزستان اليوم.",
    "uzbek": "وقعت أوزبكستان الاتفاق.",
    "cyrillic": "وثيقة ОДКБ الرسمية.",
    "latin": "The CSTO summit ended.",
    "germany-hamza": "سافر وفد إلى ألمانيا.",
    "germany-plain": "زيارة المانيا.",
}


@pytest.fixture
def corpus(demo):
    source = make_source()
    releases = {label: make_release(source=source, body=body) for label, body in CORPUS.items()}
    releases["000"], releases["004"] = demo
    return releases


def found(queryset, text):
    return search.search(queryset, text).queryset


def labels(corpus, text):
    ids = set(found(Release.objects.all(), text).values_list("pk", flat=True))
    return {label for label, release in corpus.items() if release.pk in ids}


CASES = [
    # 1. harakat and tatweel
    # (004 has الرئيسية, "main": the same stem.)
    ("الرئيس", {"vocalized", "plain", "ali", "004"}),
    ("الرَّئِيسُ", {"vocalized", "plain", "ali", "004"}),
    ("كتاب", {"tatweel"}),
    ("كتـــاب", {"tatweel"}),
    # 2. presentation forms
    ("ﻣﻨﻈﻤﺔ", {"presentation", "vocalized", "conjunction", "000", "004"}),
    # 3. digits
    ("٢٠٢٤", {"indic", "persian-digits", "latin-digits"}),
    ("۲۰۲۴", {"indic", "persian-digits", "latin-digits"}),
    ("2024", {"indic", "persian-digits", "latin-digits"}),
    ("٢٠٢٠", {"004"}),
    # 4. hamza seats
    ("مسؤول", {"official", "officials"}),
    ("المسئولون", {"official", "officials"}),
    ("الشؤون", {"004"}),
    # 5. إلى ≠ إلا; علي is not every على
    ("علي", {"ali"}),
    ('"إلا بالحوار"', {"illa"}),
    ('"إلى بالحوار"', set()),
    # 6. the seeds whatever the spelling
    ("منظمة معاهدة الامن الجماعي", {"000", "004"}),
    ("الأمن الجماعى", {"000", "004"}),
    # 7. clitics and the article
    ("المنظمة", {"vocalized", "conjunction", "presentation", "000", "004"}),
    ("وزير", {"minister", "minister-bare"}),
    ("الوزير", {"minister", "minister-bare"}),
    # 8. phrases keep their order
    ('"معاهدة الأمن"', {"000", "004"}),
    ('"الأمن معاهدة"', set()),
    # 9. substrings and near spellings
    ("غيزستان", {"kyrgyz-1", "kyrgyz-2", "000"}),
    ("كازاخستان", {"000", "004"}),
    ("اوزبيكستان", {"uzbek"}),
    # 11. other scripts (ОДКБ and CSTO are aliases of the same codebook topic)
    ("одкб", {"cyrillic", "latin", "000", "004"}),
    ("csto", {"latin", "cyrillic", "000", "004"}),
    # The query language
    ("الحوار -المنظمة", {"illa", "ala", "minister-bare"}),
    # قيرغيزستان's codebook aliases include قرغيزستان and قرغيزيا (004).
    ("قيرغيزستان OR أوزبكستان", {"kyrgyz-1", "kyrgyz-2", "uzbek", "000", "004"}),
    ("أوزبكستان OR الوزير", {"uzbek", "minister", "minister-bare"}),
    ("سوريا", {"000", "004"}),  # the topic alias: 000 writes سورية
    # 12. a name that starts with alef and lam, its hamza written or not: plain, the
    # analyzer takes its ال for the article (المانيا → مانيا), with a hamza it does not
    ("ألمانيا", {"germany-hamza", "germany-plain"}),
    ("المانيا", {"germany-hamza", "germany-plain"}),
    ("إلمانيا", {"germany-hamza", "germany-plain"}),
]


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[c[0] for c in CASES])
def test_arabic_cases(corpus, query, expected):
    assert labels(corpus, query) == expected


@pytest.mark.parametrize("query", ["ألمانيا", "المانيا", "إلمانيا", "وألمانيا"])
def test_a_name_with_alef_and_lam_is_found_however_written_when_it_is_common(corpus, query):
    """Both readings of its first letters are searched, not only near spellings: those
    are looked for only when a word matches few records, and a country's name does not."""
    for n in range(search.FEW_MATCHES):
        make_release(body=f"بيان رقم {n} عن ألمانيا.")
    assert labels(corpus, query) == {"germany-hamza", "germany-plain"}


@pytest.mark.parametrize(
    "query",
    [q for q, _ in CASES] + ['"إلا بالحوار" الحوار', '"على ضرورة"', 'csto "معاهدة الأمن"'],
)
def test_ranking_never_changes_the_results(corpus, query):
    ranked = search.search(Release.objects.all(), query)
    plain = search.search(Release.objects.all(), query, rank=False)
    assert set(ranked.queryset.values_list("pk", flat=True)) == set(
        plain.queryset.values_list("pk", flat=True)
    )


def test_kazakhstan_reaches_the_misspelling_through_the_fuzzy_path(corpus):
    # كازخستان is also a codebook alias; remove that route to test the fuzzy one.
    from statements.models import Topic

    Topic.objects.filter(slug="kazakhstan").update(aliases="")
    result = search.search(Release.objects.all(), "كازاخستان")
    assert corpus["004"] in result.queryset
    assert any("كازخستان" in e.similar for e in result.expansions)


def test_fuzzy_expansion_is_shown_to_the_reader(client, corpus):
    response = client.get(reverse("statements:release-list"), {"q": "اوزبيكستان"})
    assert "كتابة قريبة" in response.text
    assert "أوزبكستان" in response.text or "اوزبكستان" in response.text


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"معاهدة',
        "-",
        "--",
        "NEAR(",
        "NEAR(a b)",
        "*",
        "منظم*",
        "؟ ، «»",
        "()",
        ")",
        "'",
        "\\",
        'a" OR "b',
        "'abc':*",
        "!",
        "&",
        "|",
        "<->",
        ":",
        "tokens:x",
        "{",
        "^",
        "'; DROP TABLE statements_release; --",
        "OR",
        "OR OR",
        "- OR -",
        "\x00",
        "\u202e",
        "ـــ",
        "ً",
        "%",
        "_",
        "%_%",
        "x" * 10000,
        "سورية " * 3000,
        '"' * 50,
        "AND NOT",
    ],
)
def test_any_input_is_a_normal_page(client, corpus, query):
    for name in ("statements:release-list", "statements:position-list"):
        response = client.get(reverse(name), {"q": query})
        assert response.status_code == 200, (name, query)
    assert Release.objects.count() == len(corpus)


def test_only_stopwords_or_punctuation_filter_nothing_and_say_so(client, corpus):
    response = client.get(reverse("statements:release-list"), {"q": "على ؟ «»"})
    assert response.context["page_obj"].total == Release.objects.published().count()
    assert "لا شيء في بحثك يمكن البحث عنه" in response.text


def test_results_by_relevance_then_newest(corpus):
    result = search.search(Release.objects.all(), "الحوار")
    assert result.ranked
    results = list(result.queryset.order_by("-search_rank", "-public_id"))
    ranks = [r.search_rank for r in results]
    assert ranks == sorted(ranks, reverse=True)
    assert all(rank > 0 for rank in ranks)


def test_positions_are_searched_by_quote_and_summary(demo):
    quote_hit = found(Position.objects.all(), "المخدرات")
    assert [p.number for p in quote_hit] == [2]
    summary_hit = found(Position.objects.all(), "التمركز")  # only in p2's summary
    assert [p.number for p in summary_hit] == [2]


class TestHighlighting:
    def test_matches_are_marked_in_the_canonical_text(self):
        text = "قال الرَّئِيسُ إن «المنظمة» والمنظمة تدعم الحوار."
        result = search.search(Release.objects.none(), "المنظمة الرئيس")
        spans = search.match_spans(text, result.tokens, result.phrases)
        assert [text[s:e] for s, e in spans] == ["الرَّئِيسُ", "المنظمة", "والمنظمة"]

    def test_phrases_are_marked_whole(self):
        text = "وتناول بيان منظمة معاهدة الأمن الجماعي الجهود."
        result = search.search(Release.objects.none(), '"معاهدة الامن"')
        spans = search.match_spans(text, result.tokens, result.phrases)
        assert [text[s:e] for s, e in spans] == ["معاهدة الأمن"]

    def test_release_page_marks_searched_words(self, client, demo):
        url = demo[1].get_absolute_url()
        response = client.get(url, {"q": "الشؤون"})
        assert response.text.count('<mark class="search-hit">الشئون</mark>') == 2

    def test_listing_snippets_mark_matches_and_link_with_the_query(self, client, demo):
        response = client.get(reverse("statements:release-list"), {"q": "كازاخستان"})
        assert "<mark>وكازاخستان</mark>" in response.text  # the whole word, و included
        assert f"{demo[0].get_absolute_url()}?q=" in response.text

    def test_snippet_window(self):
        text = "كلمة " * 100 + "هدف " + "كلمة " * 100
        spans = search.match_spans(text, {"هدف"}, [])
        runs = search.snippet(text, spans, 60)
        assert runs[0] == ("…", False) and runs[-1] == ("…", False)
        assert ("هدف", True) in runs
        assert sum(len(t) for t, _ in runs) < 120

    def test_a_snippets_matches_are_those_of_the_whole_text(self):
        """Analyzing only as far as a snippet reaches finds the same matches there, a
        phrase across two of the pieces analyzed included."""
        rnd = random.Random(7)
        words = ["كلمة", "أخرى", "الأمن", "الجماعي", "هدف", "بيان", "قال", "الرَّئِيسُ"]
        for _ in range(40):
            text = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 2500)))
            result = search.search(Release.objects.none(), 'هدف "الأمن الجماعي" الرئيس')
            whole = search.match_spans(text, result.tokens, result.phrases)
            first = search.match_spans(text, result.tokens, result.phrases, first=270)
            assert first == whole[: len(first)]
            reach = whole[0][0] + 270 if whole else 0
            assert [s for s in whole if s[0] <= reach] == [s for s in first if s[0] <= reach]
            assert search.snippet(text, first, 240) == search.snippet(text, whole, 240)

    def test_a_long_text_is_read_once_until_its_first_match(self, monkeypatch):
        """Each piece is looked at once until the first match (it was every word so far,
        at every piece: a 110,000-character body without a match took 1.5 s)."""
        monkeypatch.setattr(search, "SPAN_CHUNK", 50)
        text = "كلمة أخرى " * 2000 + "معاهدة الأمن الجماعي" + " كلمة" * 50
        result = search.search(Release.objects.none(), '"معاهدة الأمن الجماعي" هدف')
        seen = []
        original = search._hits
        monkeypatch.setattr(search, "_hits", lambda w, *a: seen.append(len(w)) or original(w, *a))
        spans = search.match_spans(text, result.tokens, result.phrases, first=100)
        assert [text[s:e] for s, e in spans] == ["معاهدة الأمن الجماعي"]
        assert sum(seen[:-1]) < 3 * len(text.split())  # linear, not quadratic
        assert search.match_spans(text, set(), [], first=100) == []  # nothing to find

    def test_a_phrase_across_the_pieces_analyzed(self, monkeypatch):
        monkeypatch.setattr(search, "SPAN_CHUNK", 10)
        text = "كلمة " * 3 + "معاهدة الأمن الجماعي" + " كلمة" * 3
        result = search.search(Release.objects.none(), '"معاهدة الأمن الجماعي"')
        spans = search.match_spans(text, result.tokens, result.phrases, first=50)
        assert [text[s:e] for s, e in spans] == ["معاهدة الأمن الجماعي"]


class TestSameAsReference:
    """The database matches exactly what the analyzer's semantics say it should."""

    @staticmethod
    def reference(query_text, queryset):
        query = analysis.parse_query(query_text)
        search.expand(query, Release)
        records = {r.pk: r for r in queryset}

        def matches(term, record):
            tokens = set(record.search_tokens.split())
            return bool(term.tokens & tokens) or any(
                p in record.search_folded for p in term.phrases
            )

        out = set()
        for pk, record in records.items():
            if query.clauses and not any(
                all(matches(t, record) for t in clause) for clause in query.clauses
            ):
                continue
            if any(matches(t, record) for t in query.excluded):
                continue
            out.add(pk)
        return out

    def test_random_queries(self, corpus):
        words = sorted({w for text in [*CORPUS.values(), corpus["004"].body] for w in text.split()})
        rng = random.Random(20261123)
        for _ in range(60):
            picked = rng.sample(words, rng.randint(1, 3))
            if rng.random() < 0.3:
                picked.append("-" + rng.choice(words))
            if rng.random() < 0.2:
                picked.insert(1, "OR")
            if rng.random() < 0.2:
                picked = [f'"{" ".join(picked[:2])}"', *picked[2:]]
            text = " ".join(picked)
            db = set(found(Release.objects.all(), text).values_list("pk", flat=True))
            assert db == self.reference(text, Release.objects.all()), text


class TestIndexMaintenance:
    def test_saving_keeps_the_index_current(self, db):
        release = make_release(body="نص أول عن الاستقرار")
        assert labels({"r": release}, "الاستقرار") == {"r"}
        release.body = "نص معدل عن التعاون"
        release.save()
        assert labels({"r": release}, "الاستقرار") == set()
        assert labels({"r": release}, "التعاون") == {"r"}
        release.delete()
        assert not found(Release.objects.all(), "التعاون").exists()

    def test_vocabulary_grows_with_records(self, db):
        make_release(body="كلمة نادرة جدا اسمها زمردستان")
        assert SearchTerm.objects.filter(term="زمردستان").exists()

    def test_reindex_rebuilds_everything(self, corpus):
        Release.objects.update(search_tokens="", search_folded="", search_version=0)
        SearchTerm.objects.all().delete()
        search_schema.rebuild(connection)
        assert labels(corpus, "الشؤون") == set()
        out, err = StringIO(), StringIO()
        call_command("reindex_search", stdout=out, stderr=err)
        assert labels(corpus, "الشؤون") == {"004"}
        assert "Search index rebuilt" in out.getvalue()
        assert f"{Release.objects.count()}/{Release.objects.count()}" in err.getvalue()
        assert not Release.objects.exclude(search_version=analysis.ANALYZER_VERSION).exists()

    def test_stale_only_reindexes_old_versions(self, corpus):
        Release.objects.filter(pk=corpus["004"].pk).update(search_tokens="", search_version=0)
        search_schema.rebuild(connection)
        call_command("reindex_search", "--stale-only", stdout=StringIO(), stderr=StringIO())
        assert labels(corpus, "الشؤون") == {"004"}

    def test_search_objects_exist_after_migrate(self, db):
        assert search_schema.missing(connection) == []

    def test_a_recreated_vector_column_is_compressed_with_lz4(self, db):
        """ensure() puts back a dropped vector column as migration 0018 left it."""
        if connection.vendor != "postgresql":
            pytest.skip("SQLite has no vector column")
        with connection.cursor() as cursor:
            if not search_schema.lz4_available(cursor):
                pytest.skip("this PostgreSQL was built without LZ4")
        search_schema.drop(connection)
        assert search_schema.ensure(connection)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attrelid::regclass::text, attcompression FROM pg_attribute "
                "WHERE attname = 'search_vector' AND attrelid = ANY(%s::regclass[])",
                [list(search_schema.SEARCHABLE_TABLES)],
            )
            methods = dict(cursor.fetchall())
        assert methods == dict.fromkeys(search_schema.SEARCHABLE_TABLES, "l")

    @pytest.mark.django_db(transaction=True, serialized_rollback=True)
    def test_dropped_triggers_come_back_after_migrate(self):
        if connection.vendor != "sqlite":
            pytest.skip("only SQLite table rebuilds drop triggers")
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER statements_release_fts_ai")
        assert "statements_release_fts_ai" in search_schema.missing(connection)
        call_command("migrate", verbosity=0)
        assert search_schema.missing(connection) == []
        release = make_release(body="نص بعد الإصلاح عن الطاقة")
        assert labels({"r": release}, "الطاقة") == {"r"}

    @pytest.mark.django_db(transaction=True, serialized_rollback=True)
    def test_search_migration_forwards_fills_existing_records(self):
        from statements.demo import load_demo

        load_demo()
        call_command("migrate", "statements", "0003", verbosity=0)
        call_command("migrate", verbosity=0)
        assert search_schema.missing(connection) == []
        assert not Release.objects.exclude(search_version=analysis.ANALYZER_VERSION).exists()
        assert found(Release.objects.all(), "الشؤون").count() == 1
        assert SearchTerm.objects.filter(term="كازخستان").exists()

    @pytest.mark.django_db(transaction=True, serialized_rollback=True)
    def test_search_migration_backwards_and_forwards(self):
        call_command("migrate", "statements", "0003", verbosity=0)
        call_command("migrate", verbosity=0)
        assert search_schema.missing(connection) == []
        release = make_release(body="نص عن الطاقة")
        assert labels({"r": release}, "الطاقة") == {"r"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's parser")
def test_postgresql_keeps_every_token_as_is(corpus):
    """to_tsvector('simple') must neither split nor change the analyzer's tokens."""
    with connection.cursor() as cursor:
        for release in Release.objects.all():
            cursor.execute(
                "SELECT array(SELECT lexeme FROM unnest(search_vector)) "
                "FROM statements_release WHERE id = %s",
                [release.pk],
            )
            assert set(cursor.fetchone()[0]) == set(release.search_tokens.split())


def test_the_widening_probe_does_not_sort_the_matches(corpus):
    """Whether a word matches fewer than three records is asked without an ORDER BY: the
    model's ordering made PostgreSQL sort every match of a common word (about a second
    at 100,000 releases) to keep three."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        search.search(Release.objects.all(), "قيرغيزستان")
    probes = [q["sql"] for q in queries if "LIMIT 3" in q["sql"]]
    assert probes and not any("ORDER BY" in sql for sql in probes)


def test_a_name_alias_is_skipped_when_another_alias_brings_one_of_its_words(corpus):
    """A topic's phrase alias (a costly match of the folded text) finds nothing more when
    one of its words is already searched for, whichever alias added that word (the
    codebook's counter-terrorism: "Counter-terrorism" and its alias "terrorism")."""
    query = analysis.parse_query("الإرهاب")
    search.expand(query, Release)
    (term,) = query.terms()
    assert "terrorism" in term.tokens
    assert " counter terrorism " not in term.phrases
    # A name is kept only when some spelling of it has none of the word's tokens.
    for required in term.required:
        assert not required & term.tokens
    # "الجماعات الإرهابية" written "الجماعات الارهابيه" is not indexed under the stem
    # ارهاب (Snowball stems the two spellings apart): only what they share is required.
    assert "ارهاب" in analysis.analyze_word("الإرهابية").tokens
    assert "ارهاب" not in analysis.analyze_word("الارهابيه").tokens
    assert analysis.shared_tokens("الارهابيه") == {"ارهابيه"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner settings")
def test_plans_are_set_for_their_block_only():
    def show(name):
        with connection.cursor() as cursor:
            cursor.execute(f"SHOW {name}")
            return cursor.fetchone()[0]

    assert show("enable_seqscan") == "on"
    with search.plans():
        assert (show("enable_seqscan"), show("enable_indexscan")) == ("off", "off")
        with search.plans("newest"):
            assert (show("enable_indexscan"), show("enable_bitmapscan")) == ("on", "off")
            assert show("enable_sort") == "off"
        # the enclosing block's settings are back
        assert (show("enable_indexscan"), show("enable_bitmapscan")) == ("off", "on")
        assert show("enable_sort") == "on"
    assert (show("enable_seqscan"), show("enable_indexscan")) == ("on", "on")


def test_plans_change_nothing_after_an_error():
    release = make_release(source=make_source(), body="أكد الرئيس أهمية التعاون.")
    with pytest.raises(ZeroDivisionError), search.plans():
        1 / 0  # noqa: B018
    # The error went through, and the connection still searches.
    found = search.search(Release.objects.all(), "الرئيس").queryset
    assert list(found.values_list("pk", flat=True)) == [release.pk]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW enable_seqscan")
            assert cursor.fetchone()[0] == "on"


class TestExcludedWords:
    """An excluded word drops every record with any of its forms, or with a name among its
    aliases, whatever the other clauses; its tokens are excluded inside the words' own
    full-text query (on PostgreSQL by the index, not by reading each candidate's vector
    again)."""

    @pytest.fixture
    def records(self, db):
        from statements.models import Topic

        Topic.objects.create(
            slug="narcotics", kind=Topic.Kind.THEME, name_ar="المخدرات", name_en="Narcotics",
            aliases="تهريب الكوكايين",
        )  # fmt: skip
        bodies = {
            "plain": "أفغانستان على الحدود الجنوبية",
            "word": "أفغانستان ومكافحة المخدرات",
            "form": "أفغانستان وتجارة مخدر خطير",
            "name": "أفغانستان: تهريب الكوكايين عبر الحدود",
            "names-words": "أفغانستان والكوكايين في التهريب",  # the words, not the name
            "libya": "ليبيا والحدود",
            "libya-word": "ليبيا والمخدرات",
        }
        return {label: make_release(body=body) for label, body in bodies.items()}

    @pytest.mark.parametrize(
        "query, expected",
        [
            ("أفغانستان -المخدرات", {"plain", "names-words"}),
            ("أفغانستان OR ليبيا -المخدرات", {"plain", "names-words", "libya"}),
            ('"الحدود الجنوبية" OR ليبيا -المخدرات', {"plain", "libya"}),
            ("الحدود -المخدرات -الجنوبية", {"libya"}),
        ],
    )
    def test_what_is_left(self, records, query, expected):
        assert labels(records, query) == expected
        # The reference semantics say the same.
        ids = TestSameAsReference.reference(query, Release.objects.all())
        assert {label for label, r in records.items() if r.pk in ids} == expected

    def test_one_tsquery_holds_the_words_and_their_exclusions(self, records):
        if connection.vendor != "postgresql":
            pytest.skip("PostgreSQL's plan")
        result = search.search(Release.objects.all(), "أفغانستان -المخدرات", rank=False)
        sql, params = result.queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            text = cursor.mogrify(sql, params)
        names = sum(len(term.phrases) for term in result.query.excluded)
        assert names >= 1  # the alias name above, and any the codebook has
        # One for the word and its excluded forms, one for each name's words.
        assert text.count("search_vector @@") == 1 + names, text
        assert "& !(" in text
        assert {r.pk for r in result.queryset} == {records["plain"].pk, records["names-words"].pk}


def _fold_one_by_one(text):
    """fold_with_map as it was written first: character by character."""
    out, index = [], []
    for i, ch in enumerate(text):
        folded = analysis.FOLD_TABLE.get(ord(ch), ch)
        if folded:
            out.append(folded)
            index.extend([i] * len(folded))
    return "".join(out), index


def test_folding_in_runs_is_folding_one_by_one():
    """fold_with_map folds runs of characters at once: the same text and map as one by
    one, for every character the fold table changes (removed, replaced, or made several),
    among Arabic text, and characters beyond the table's planes."""
    rng = random.Random(7)
    changed = [chr(code) for code in analysis.FOLD_TABLE]
    plain = [*"سورية الأمن الجماعي منظمة معاهدة ﻻ ـ abc 123 ٢٠١٨", "\U00020001", "\0"]
    texts = ["", "سورية", "\u064b", "ﷺ", "ﻻ", "سوريةً", "\U00020001"]
    for _ in range(3000):
        pool = changed if rng.random() < 0.5 else plain
        texts.append("".join(rng.choice(pool + plain) for _ in range(rng.randint(1, 40))))
    for text in texts:
        assert analysis.fold_with_map(text) == _fold_one_by_one(text), text
        assert analysis.fold(text) == text.translate(analysis.FOLD_TABLE), text
