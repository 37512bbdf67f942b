"""Path converters. Django's <slug:> is ASCII-only; source slugs may be Arabic."""


class UnicodeSlugConverter:
    regex = r"[-\w]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value
