"""Form behaviour shared by the admin's forms and the annotation page."""

from django.utils.translation import gettext

from . import text

# Attributes of an Arabic text input: right to left, in the reading font (static/css/admin.css).
RTL_TEXTAREA = {"dir": "rtl", "lang": "ar", "class": "csto-arabic"}


class SanitizingFormMixin:
    """Sanitize text fields as at ingest and keep a report of what changed, for the editor.

    ``sanitized_fields`` are multi-line texts; ``single_line_fields`` are
    names, titles and the like.
    """

    sanitized_fields: tuple[str, ...] = ()
    single_line_fields: tuple[str, ...] = ()

    def _clean_text(self, name, single_line):
        value = self.cleaned_data.get(name) or ""
        try:
            clean, report = (text.sanitize_line if single_line else text.sanitize)(value)
        except text.TextError as error:
            self.add_error(name, str(error))
            return value
        if report.changed or report.invisible_kept:
            label = self.fields[name].label
            self.sanitation_notes.extend(f"{label}: {m}" for m in report.messages(gettext))
        return clean

    def clean(self):
        self.sanitation_notes = []
        cleaned = super().clean()
        for name in self.sanitized_fields + self.single_line_fields:
            if name in cleaned:
                cleaned[name] = self._clean_text(name, name in self.single_line_fields)
        return cleaned
