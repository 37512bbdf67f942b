from django.conf import settings


def archive(request):
    """The archive's name, for every template."""
    return {
        "ARCHIVE_NAME_AR": settings.ARCHIVE_NAME_AR,
        "ARCHIVE_NAME_EN": settings.ARCHIVE_NAME_EN,
    }
