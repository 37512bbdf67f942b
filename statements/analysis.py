"""The search analyzer: one definition of how Arabic is folded, split and stemmed.

Pure Python (no Django). The databases never analyze Arabic themselves: this
module turns each text into ready-made tokens stored in derived columns, and
every query into the same tokens, so SQLite and PostgreSQL match the same
rows (see the README, "Search").

Three forms of a word (``analyze_word``):

* **stem** — Snowball Arabic on the folded word, after splitting و/ف before
  ال; protected words are not stemmed (Snowball turns البيان into الب);
* **surface** — the folded word without its article (ال، وال، بال، كال، فال،
  لل), with أ/إ/آ → ا, final ى → ي and ة → ه;
* **full** — the folded word with its article, for exact phrases.

Folding (``fold``) is a per-character translation, so a folded text maps back
to the canonical text character by character (``fold_with_map``), which is how
matches are highlighted in the canonical text.

Bump ``ANALYZER_VERSION`` whenever a change here changes any token, then run
``manage.py reindex_search``.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

from .limits import MAX_QUERY_LENGTH, MAX_QUERY_TERMS

ANALYZER_VERSION = 1

MIN_FUZZY_LENGTH = 4

# Characters deleted by the fold: harakat and other Arabic marks, Quranic
# marks, tatweel, invisible format characters and bidi controls.
_DELETED = {
    *range(0x064B, 0x0660),
    0x0670,
    0x0640,
    *range(0x0610, 0x061B),
    *range(0x06D6, 0x06EE),
    *(0x200B, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x200E, 0x200F, 0x061C),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
}
_REPLACED = {
    0x200C: " ",  # ZWNJ separates words
    0x06CC: "ي",  # Persian yeh
    0x06D0: "ي",  # yeh with two dots below
    0x06A9: "ك",  # keheh
    0x06D5: "ه",  # ae
    0x06BE: "ه",  # heh doachashmee
    0x06C1: "ه",  # heh goal
    0x0671: "ا",  # alef wasla (Snowball misses it)
    0x0624: "ء",  # waw with hamza: مسؤول = مسئول
    0x0626: "ء",  # yeh with hamza
}
_REPLACED.update({0x0660 + d: str(d) for d in range(10)})  # Arabic-Indic digits
_REPLACED.update({0x06F0 + d: str(d) for d in range(10)})  # Extended (Persian) digits


_DIGITS = str.maketrans(
    {0x0660 + d: str(d) for d in range(10)} | {0x06F0 + d: str(d) for d in range(10)}
)


def fold_digits(text):
    """Arabic-Indic and extended (Persian) digits as ASCII digits; nothing else changed."""
    return text.translate(_DIGITS)


def _build_fold_table():
    """Per character: NFKC, then the folds above, then case folding."""
    deleted = _DELETED
    table = {}

    def fold_char(ch):
        out = []
        for c in unicodedata.normalize("NFKC", ch):
            code = ord(c)
            if code in deleted or unicodedata.category(c) == "Mn":
                continue
            out.append(_REPLACED.get(code, c))
        return "".join(out).casefold()

    # The Basic and Supplementary Multilingual Planes hold every character
    # with a compatibility form or a case that text in this archive can use.
    for code in range(0x20000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        folded = fold_char(ch)
        if folded != ch:
            table[code] = folded or None
    return table


FOLD_TABLE = _build_fold_table()
# The same as a list for str.translate, every code of the table's planes given (itself when
# unchanged): a dictionary makes translate raise and catch an error for each character it
# does not hold, four times slower on an Arabic text. Codes beyond the list are unchanged.
_FOLD_LIST = [FOLD_TABLE.get(code, code) for code in range(0x20000)]
WORD_RE = re.compile(r"[^\W_]+")
_ARABIC_LETTER_RE = re.compile(r"[\u0621-\u064A]")
_ALEF_TABLE = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"})
_ARTICLES = ("وال", "فال", "بال", "كال", "لل", "ال")

# A Snowball stemmer keeps the word being stemmed in the object: one per thread, or two
# threads of a gunicorn worker stemming at once corrupt each other's words (the load test
# showed it: an IndexError inside the stemmer, a 500 for the reader).
_stemmers = threading.local()


def _stem(word: str) -> str:
    stemmer = getattr(_stemmers, "arabic", None)
    if stemmer is None:
        stemmer = _stemmers.arabic = snowballstemmer.stemmer("arabic")
    return stemmer.stemWord(word)


def fold(text: str) -> str:
    """The search fold of a text (it keeps أ/إ/آ, ى and ة: stemming needs them)."""
    return text.translate(_FOLD_LIST)


# Each character that folds to nothing or to more than one character as U+0000, every
# other one as U+0001 (fold_with_map finds the uneven ones in that with str.find).
_UNEVEN_MARKS = [
    "\0" if code in FOLD_TABLE and len(FOLD_TABLE[code] or "") != 1 else "\1"
    for code in range(0x20000)
]


def fold_with_map(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` and, for each folded character, the index of its source character.

    Runs of characters that each fold to one character are folded at once (a snippet's
    text is mostly such runs: character by character, this was a tenth of a search
    page's time); the others one by one."""
    out, index, done = [], [], 0
    marks = text.translate(_UNEVEN_MARKS)  # (characters beyond its planes: unchanged)
    i = marks.find("\0")
    while i != -1:
        if i > done:
            out.append(text[done:i].translate(_FOLD_LIST))
            index.extend(range(done, i))
        folded = FOLD_TABLE.get(ord(text[i]))
        if folded:
            out.append(folded)
            index.extend([i] * len(folded))
        done = i + 1
        i = marks.find("\0", done)
    if done < len(text):
        out.append(text[done:].translate(_FOLD_LIST))
        index.extend(range(done, len(text)))
    return "".join(out), index


def _fold_letters(word: str) -> str:
    """أ/إ/آ → ا, final ى → ي, ة → ه: for surface and full forms, never before stemming."""
    word = word.translate(_ALEF_TABLE).replace("ة", "ه")
    return word[:-1] + "ي" if word.endswith("ى") else word


def _norm(words):
    return frozenset(fold(w).translate(_ALEF_TABLE) for w in words.split())


# Function words, compared on the folded word with أ/إ/آ → ا but before ى → ي,
# so that على (a preposition) is dropped while علي (a name) is kept.
STOPWORDS = _norm(
    """
    في من إلى الى على عن مع أن إن ان لا ما لم لن قد ثم أو او و ف ب ل ك هو هي هم هما هن
    هذا هذه ذلك تلك هؤلاء هناك التي الذي الذين اللذين اللتين اللواتي كان كانت يكون تكون
    كانوا كل بعض غير بين حتى عند عندما إذا اذا إذ لدى منذ خلال حول ضد عبر نحو أي اي أيضا
    ايضا إلا الا وهو وهي وقد كما لكن لكنه أما اما حيث ليس ليست مثل دون فقد فيه فيها منه
    منها عليه عليها به بها له لها إليه إليها عنه عنها تم يتم وفي ومن وعلى وإلى وأن وان
    """
)
# Surface forms that Snowball mangles or merges with unrelated words: they
# are indexed unstemmed (the stem equals the surface form).
PROTECTED = frozenset(
    _fold_letters(w)
    for w in _norm(
        """
        بيان بيانات وزير وزراء امن سورية سوريا روسيا ليبيا العراق عراق فلسطين السودان سودان
        اليمن يمن مصر ايران داعش ناتو اوكرانيا ارمينيا بيلاروس طاجيكستان قرغيزستان
        قيرغيزستان كازاخستان كازخستان افغانستان موسكو استانا برلين القاهره دمشق
        """
    )
)


@dataclass(frozen=True)
class WordForms:
    full: str
    surface: str = ""
    stem: str = ""
    # The forms of the word without a leading و/ف (وروسيا → روسيا), if it has one.
    unprefixed: WordForms | None = None

    @property
    def indexed(self) -> bool:
        return bool(self.surface)

    @property
    def tokens(self) -> tuple[str, ...]:
        if not self.surface:
            return ()
        own = (self.surface,) if self.stem == self.surface else (self.stem, self.surface)
        return own + (self.unprefixed.tokens if self.unprefixed else ())

    @property
    def surfaces(self) -> tuple[str, ...]:
        if not self.surface:
            return ()
        return (self.surface,) + (self.unprefixed.surfaces if self.unprefixed else ())


@lru_cache(maxsize=1 << 18)
def analyze_word(token: str) -> WordForms:
    """Analyze one folded token (as found by WORD_RE in a folded text)."""
    full = _fold_letters(token)
    if not _ARABIC_LETTER_RE.search(token):
        # Latin, Cyrillic, digits: lowercased already, never stemmed.
        return WordForms(full, full, full)
    alef = token.translate(_ALEF_TABLE)
    if alef in STOPWORDS or len(token) < 2:
        return WordForms(full)
    core = token
    if len(token) > 4 and token[0] in "وف" and token[1:3] == "ال":
        core = token[1:]  # و/ف before the article: والمنظمة → المنظمة
    bare = core
    for article in _ARTICLES:
        if core.startswith(article) and len(core) - len(article) >= 2:
            bare = core[len(article) :]
            break
    surface = _fold_letters(bare)
    stem = surface if surface in PROTECTED else _stem(core)
    unprefixed = None
    if core is token and len(token) >= 5 and token[0] in "وف" and surface not in PROTECTED:
        # A conjunction glued to a word without the article (وروسيا, فإن): the
        # word is indexed both ways, since و/ف may also be its first letter.
        rest = analyze_word(token[1:])
        unprefixed = rest if rest.indexed else None
    return WordForms(full, surface, stem or surface, unprefixed)


@dataclass
class Analysis:
    tokens: str  # space-separated stems and surface forms, in text order
    folded: str  # " " + full forms of every word + " ", for exact phrases
    surfaces: set[str] = field(default_factory=set)


def analyze(*texts: str) -> Analysis:
    """Analyze the texts of one record (a release's title and body, say) together."""
    tokens, fulls, surfaces = [], [], set()
    for text in texts:
        for token in WORD_RE.findall(fold(text)):
            forms = analyze_word(token)
            fulls.append(forms.full)
            tokens.extend(forms.tokens)
            surfaces.update(forms.surfaces)
    return Analysis(" ".join(tokens), f" {' '.join(fulls)} " if fulls else "", surfaces)


def analyze_each(records):
    """:func:`analyze` of each of ``records`` (tuples of texts): what an import runs in a
    process of its own (statements.importers), which needs nothing but this module."""
    return [analyze(*texts) for texts in records]


# Queries -------------------------------------------------------------------


@dataclass
class Term:
    """One thing a query asks for: a word (any of its forms) or an exact phrase."""

    raw: str
    tokens: frozenset[str] = frozenset()  # match any of these tokens...
    phrases: tuple[str, ...] = ()  # ...or any of these folded phrases (" a b ")
    surface: str = ""  # for words: the surface form, used for expansions
    # For each phrase, the tokens of its searchable words as written (used to rank and
    # to tell a name from a word's other aliases).
    anchors: tuple[frozenset[str], ...] = ()
    # For each phrase, the tokens that every record that has it has, however its words
    # are spelled (see shared_tokens): what the index may require of its records.
    required: tuple[frozenset[str], ...] = ()

    @property
    def rank_safe(self) -> bool:
        """Every record this term matches has one of its tokens or anchors."""
        return bool(self.tokens or self.anchors) and all(self.anchors)


@dataclass
class Query:
    clauses: list[list[Term]] = field(default_factory=list)  # OR of ANDs
    excluded: list[Term] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # stopwords, punctuation
    truncated: bool = False

    @property
    def is_empty(self) -> bool:
        return not any(self.clauses)

    def terms(self):
        for clause in self.clauses:
            yield from clause


def other_reading(token: str) -> frozenset[str]:
    """The surface forms of a folded ``token`` read the other way at its start, when it
    starts with an alef and lam: the analyzer takes a plain ال for the article and
    strips it (المانيا → مانيا) but keeps one with a hamza (ألمانيا → المانيا), and a
    name such as ألمانيا or ألبانيا is written both ways. A query for either finds both.

    Only the other reading's surface form, not its stem (Snowball's stem of a word read
    wrongly may be another word's); the rest of the word must be 3 letters or more (ألقى
    read as ال + قى would find nothing it means). A leading و/ف is read through."""
    if len(token) >= 6 and token[0] in "وف" and token[2] == "ل":
        return other_reading(token[1:])
    if len(token) < 5 or token[1] != "ل" or token[0] not in "اأإآ":
        return frozenset()
    other = analyze_word(("أ" if token[0] == "ا" else "ا") + token[1:])
    own = analyze_word(token)
    return frozenset(other.surfaces) - frozenset(own.tokens) if other.indexed else frozenset()


def _word_tokens(token: str, forms: WordForms) -> frozenset[str]:
    return frozenset(forms.tokens) | other_reading(token)


def word_term(raw: str) -> Term | None:
    """A term for one typed word; None if it has nothing searchable (a stopword)."""
    found = [(t, analyze_word(t)) for t in WORD_RE.findall(fold(raw))]
    indexed = [(t, forms) for t, forms in found if forms.indexed]
    if not indexed:
        return None
    if len(found) > 1:
        # A typed "word" that folds into several (كتاب‌ها with a ZWNJ): a phrase.
        return phrase_term(raw)
    token, forms = indexed[0]
    return Term(raw, _word_tokens(token, forms), (), forms.surface)


def phrase_term(raw: str) -> Term | None:
    typed = WORD_RE.findall(fold(raw))
    words = [analyze_word(t) for t in typed]
    if not words:
        return None
    if len(words) == 1 and words[0].indexed:
        return Term(raw, _word_tokens(typed[0], words[0]), (), words[0].surface)
    anchor = frozenset(token for forms in words for token in forms.tokens)
    required = frozenset(token for forms in words for token in shared_tokens(forms.full))
    phrase = f" {' '.join(forms.full for forms in words)} "
    return Term(raw, frozenset(), (phrase,), anchors=(anchor,), required=(required,))


# The letters a word's full form (_fold_letters) may stand for: a record's word with that
# full form is written with one of them at each place (and ى or ي at its end).
_SPELLINGS = {"ا": "اأإآ", "ه": "هة"}
MAX_SPELLINGS = 512


@lru_cache(maxsize=1 << 14)
def shared_tokens(full: str) -> frozenset[str]:
    """The tokens that every spelling of a word with the full form ``full`` is indexed
    with: a record that has the word, however it is written, has them all. Empty when
    the spellings share none (or are too many to try), or when one is a stopword.

    (The article's alef is taken as written plain: الـ with a hamza, ألسورية, is a
    misspelling, while counting it would leave most names with no shared token, since
    the analyzer strips the article only when it is written plain.)"""
    choices = [_SPELLINGS.get(ch, ch) for ch in full]
    if full.startswith("ال"):
        choices[0] = "ا"
    if full.endswith("ي"):
        choices[-1] = "يى"
    count = 1
    for letters in choices:
        count *= len(letters)
    if count > MAX_SPELLINGS:
        return frozenset()
    shared = None
    for letters in itertools.product(*choices):
        tokens = set(analyze_word("".join(letters)).tokens)
        shared = tokens if shared is None else shared & tokens
        if not shared:
            return frozenset()
    return frozenset(shared or ())


_QUERY_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_DASH_RE = re.compile(r"^[-\u2010-\u2015\u2212]+")


def parse_query(text: str) -> Query:
    """Parse what a reader typed. Never raises: anything unusable is ignored and reported.

    Words must all match; "an exact phrase" in double quotes (« » and “ ” too);
    -word or -"phrase" excludes; OR between groups of words means either.
    """
    query = Query()
    if not isinstance(text, str):
        return query
    text = text.replace("\x00", " ")
    if len(text) > MAX_QUERY_LENGTH:
        text, query.truncated = text[:MAX_QUERY_LENGTH], True
    text = re.sub(r"[«»“”„″]", '"', text)
    clause: list[Term] = []
    count = 0
    for match in _QUERY_RE.finditer(text):
        negative, phrase, word = match.groups()
        if word is not None and word == "OR":
            if clause:
                query.clauses.append(clause)
            clause = []
            continue
        if count >= MAX_QUERY_TERMS:
            query.truncated = True
            break
        if phrase is not None:
            term = phrase_term(phrase)
            raw = phrase
        else:
            negative = bool(_DASH_RE.match(word)) and len(word) > 1
            raw = _DASH_RE.sub("", word) if negative else word
            term = word_term(raw)
        if term is None:
            if raw.strip():
                query.ignored.append(raw.strip())
            continue
        count += 1
        (query.excluded if negative else clause).append(term)
    if clause:
        query.clauses.append(clause)
    return query


# Similarity of names (the fuzzy path) ---------------------------------------


def trigrams(word: str) -> set[str]:
    """Trigrams of a word padded with one space each side (boundaries count)."""
    padded = f" {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def interior_trigrams(word: str) -> set[str]:
    """Trigrams inside the word: any word similar enough shares one (see similarity)."""
    return {word[i : i + 3] for i in range(len(word) - 2)}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of padded trigrams, 0..1 (كازاخستان ~ كازخستان: 0.55).

    For words of at least MIN_FUZZY_LENGTH letters, two words at or above
    FUZZY_THRESHOLD always share an interior trigram, so the databases can
    fetch candidates by interior trigrams and this function decides.
    """
    ta, tb = trigrams(a), trigrams(b)
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0


FUZZY_THRESHOLD = 0.4


def word_spans(text: str) -> list[tuple[int, int, WordForms]]:
    """Each word of a canonical text as (start, end, forms), offsets into ``text``."""
    folded, index = fold_with_map(text)
    spans = []
    for match in WORD_RE.finditer(folded):
        start = index[match.start()]
        end = index[match.end() - 1] + 1
        # Keep the marks that follow the last letter inside the span.
        while end < len(text) and FOLD_TABLE.get(ord(text[end]), text[end]) is None:
            end += 1
        spans.append((start, end, analyze_word(match.group())))
    return spans
