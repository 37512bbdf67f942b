from django.conf import settings
from django.utils.translation import get_language, pgettext


def archive(request):
    """The archive's name in the interface language, for every template."""
    english = (get_language() or "").startswith("en")
    return {
        "archive_name": settings.ARCHIVE_NAME_EN if english else settings.ARCHIVE_NAME_AR,
        # Translators: between names in a list ("SANA، via Sputnik").
        "list_separator": pgettext("list separator", ", "),
    }
