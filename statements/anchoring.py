"""Re-anchoring positions when the text of their release changes.

A position is a passage of the text: its offsets, its exact quote, and the
text just before and after it (``prefix``/``suffix``, the W3C
TextQuoteSelector context, kept up to date by ``Position.save``). When an
editor corrects the text, each position is placed again:

1. where it was, if the quote is still at its offsets ("kept");
2. else at the one occurrence of the quote in the new text, or, when the
   quote occurs several times, at the occurrence whose surroundings match the
   old prefix and suffix best — but only when that best match is better than
   every other one ("moved");
3. else nowhere: the position is marked orphaned, keeps its quote and old
   offsets, is hidden from readers, and the editor is told to place it again.

Nothing is moved to a passage that merely looks like it: two occurrences with
equally good surroundings leave the position orphaned rather than guessed.
"""

from dataclasses import dataclass

from django.utils.translation import gettext, ngettext

from . import text

KEPT, MOVED, ORPHANED = "kept", "moved", "orphaned"


@dataclass(frozen=True)
class Outcome:
    number: int
    how: str
    old_start: int
    old_end: int
    start: int
    end: int


def _common_suffix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y:
            break
        n += 1
    return n


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def occurrences(body: str, quote: str):
    """Every offset where ``quote`` can be anchored in ``body`` (not inside a letter)."""
    found, at = [], body.find(quote)
    while at != -1:
        if text.anchor_problem(body, at, at + len(quote), quote) is None:
            found.append(at)
        at = body.find(quote, at + 1)
    return found


def place(body: str, start: int, end: int, quote: str, prefix: str, suffix: str):
    """(how, start, end) for a passage in a (possibly changed) ``body``."""
    if text.anchor_problem(body, start, end, quote) is None:
        return KEPT, start, end
    found = occurrences(body, quote)
    if not found:
        return ORPHANED, start, end
    if len(found) == 1:
        return MOVED, found[0], found[0] + len(quote)
    context_size = text.CONTEXT_LENGTH

    def score(at):
        before = body[max(0, at - context_size) : at]
        after = body[at + len(quote) : at + len(quote) + context_size]
        return _common_suffix(before, prefix) + _common_prefix(after, suffix)

    scored = sorted(((score(at), at) for at in found), reverse=True)
    (best, at), (runner_up, _) = scored[0], scored[1]
    if best == runner_up:
        return ORPHANED, start, end
    return MOVED, at, at + len(quote)


def reanchor(body: str, positions):
    """Outcomes for ``positions`` (with start, end, quote, prefix, suffix, number) in ``body``."""
    outcomes = []
    for p in positions:
        how, start, end = place(body, p.start, p.end, p.quote, p.prefix, p.suffix)
        outcomes.append(Outcome(p.number, how, p.start, p.end, start, end))
    return outcomes


def messages(outcomes):
    """[(is_warning, message)] telling the editor what re-anchoring did (nothing if all kept)."""
    moved = [o for o in outcomes if o.how == MOVED]
    orphaned = [o for o in outcomes if o.how == ORPHANED]
    notes = []
    if moved:
        notes.append(
            (
                False,
                ngettext(
                    "The text changed; position %(list)s was found again and moved with its "
                    "passage.",
                    "The text changed; positions %(list)s were found again and moved with "
                    "their passages.",
                    len(moved),
                )
                % {"list": ", ".join(f"#p{o.number}" for o in moved)},
            )
        )
    if orphaned:
        notes.append(
            (
                True,
                ngettext(
                    "Position %(list)s is orphaned: its passage is not in the new text (or "
                    "could not be told apart from another). It is hidden from readers until "
                    "you select its passage again.",
                    "Positions %(list)s are orphaned: their passages are not in the new text "
                    "(or could not be told apart from others). They are hidden from readers "
                    "until you select their passages again.",
                    len(orphaned),
                )
                % {"list": ", ".join(f"#p{o.number}" for o in orphaned)},
            )
        )
    return notes


def orphan_warning(numbers):
    return gettext(
        "Orphaned positions (their passage is not in the text): %(list)s. Select their "
        "passages again before publishing."
    ) % {"list": ", ".join(f"#p{n}" for n in numbers)}
