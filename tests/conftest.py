import pytest
from django.test import Client

from tests.factories import make_user


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """Serve static files by their plain names in tests.

    Production uses hashed names from a manifest that `collectstatic` writes;
    tests/test_deploy.py checks that set-up separately, with a real collectstatic.
    """
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty cache: a test database rolled back to the same
    listing generation must not find the counts another test cached under it."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()
    yield
    for cache in caches.all():
        cache.clear()


@pytest.fixture
def editor(db):
    return make_user("editors", username="editor")


@pytest.fixture
def publisher(db):
    return make_user("publishers", username="publisher")


@pytest.fixture
def editor_client(editor):
    client = Client()
    client.force_login(editor)
    return client


@pytest.fixture
def publisher_client(publisher):
    client = Client()
    client.force_login(publisher)
    return client


@pytest.fixture
def demo(db):
    from statements.demo import load_demo

    return load_demo()


@pytest.fixture
def english():
    """Run with English messages (the site's default is Arabic), to match on message text."""
    from django.utils import translation

    with translation.override("en"):
        yield
