"""Where a request comes from, for the login guard (django-axes)."""

from django.conf import settings


def client_ip(request):
    """The client's address: behind our reverse proxy (``DJANGO_BEHIND_PROXY``), the last
    address in X-Forwarded-For — the one the proxy appended, which the client cannot
    forge (anything the client sent itself comes before it); otherwise REMOTE_ADDR."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR")
