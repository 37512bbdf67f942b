"""Readers' queries to a PostgreSQL streaming replica, everything else to the primary.

When ``DATABASE_REPLICA_URL`` is set, ``settings.DATABASES`` has a ``replica``
alias. :class:`ReplicaReadsMiddleware` marks the requests that may read from it:
anonymous ``GET``/``HEAD`` requests outside the admin — the public pages, feeds
and exports, which are most of the traffic. Editors (logged in), every write,
every ``POST``, the admin, management commands and migrations use the primary,
so an editor always sees what they just saved. A reader may see a publication
a moment late (the replica's lag, usually well under a second); the listing
generation read from the replica moves on with it, so cached counts and
readers' ETags stay consistent with what that reader is shown.
"""

from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
_reader = ContextVar("csto_replica_reader", default=False)


def replica_configured():
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _reader.get() and replica_configured():
            return REPLICA
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data, whichever copy it was read from

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"  # the replica follows the primary by replication


class ReplicaReadsMiddleware:
    """Let an anonymous reader's request read from the replica (after authentication)."""

    SAFE = ("GET", "HEAD")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reader = (
            replica_configured()
            and request.method in self.SAFE
            and not request.path.startswith("/" + settings.ADMIN_URL)
            and not request.user.is_authenticated
        )
        token = _reader.set(reader)
        try:
            response = self.get_response(request)
            if reader and getattr(response, "streaming", False):
                # A streamed export reads while it is being sent, after this returns.
                response.streaming_content = _reading(response.streaming_content)
            return response
        finally:
            _reader.reset(token)


def _reading(chunks):
    token = _reader.set(True)
    try:
        yield from chunks
    finally:
        _reader.reset(token)
