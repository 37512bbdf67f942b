from django.conf import settings
from django.utils.translation import get_language


def archive(request):
    """The archive's name in the interface language, for every template."""
    english = (get_language() or "").startswith("en")
    return {
        "archive_name": settings.ARCHIVE_NAME_EN if english else settings.ARCHIVE_NAME_AR,
        "list_separator": ", " if english else "، ",
    }
