from django import template
from django.utils.html import format_html, format_html_join

from ..dates import format_partial_date, iso_partial_date

register = template.Library()


@register.simple_tag
def partial_date(value, precision, inferred=False):
    """A date at its precision: "8 نوفمبر 2018", "2020", "[2020]" if inferred, "د.ت." if unknown."""
    return format_partial_date(value, precision, inferred)


@register.simple_tag
def iso_date(value, precision):
    """The same date in ISO 8601 at its precision, for <time datetime="...">."""
    return iso_partial_date(value, precision)


@register.simple_tag
def highlight(text, result=None, window=0):
    """``text`` with the words a search matched in <mark>; a window around them if ``window``.

    Every piece of text is escaped (format_html); only the <mark> tags are markup.
    """
    from ..search import match_spans, snippet

    spans = []
    if result:
        # A snippet shows the first match and what follows it (search.snippet).
        first = window + 30 if window else None
        spans = match_spans(text, result.tokens, result.phrases, first=first)
    if window:
        runs = snippet(text, spans, window)
    else:
        runs, cursor = [], 0
        for start, end in spans:
            runs += [(text[cursor:start], False), (text[start:end], True)]
            cursor = end
        runs.append((text[cursor:], False))
    return format_html_join(
        "",
        "{}",
        (
            (format_html("<mark>{}</mark>", piece) if hit else piece,)
            for piece, hit in runs
            if piece
        ),
    )
