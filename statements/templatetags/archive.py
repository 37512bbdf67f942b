from django import template

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
