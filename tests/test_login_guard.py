"""The admin login against password guessing (django-axes, statements.security)."""

import pytest
from django.test import Client, override_settings

from tests.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password"


def attempt(client, password, **extra):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "guarded", "password": password},
        **extra,
    )


@pytest.fixture
def user():
    return make_user("editors", username="guarded", password=PASSWORD)


def test_five_failures_lock_the_account_from_that_address(user, settings):
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "wrong").status_code == 200  # the form again, with its error
    response = attempt(client, "wrong")
    assert response.status_code == 429
    assert "محاولات دخول فاشلة كثيرة" in response.text  # "Too many failed logins"
    # Even the right password is refused now, from that address...
    assert attempt(client, PASSWORD).status_code == 429
    # ...but not from another one.
    other = Client(REMOTE_ADDR="198.51.100.9")
    assert attempt(other, PASSWORD).status_code == 302


def test_a_success_resets_the_count(user, settings):
    client = Client(REMOTE_ADDR="203.0.113.8")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "wrong")
    assert attempt(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "wrong").status_code == 200
    assert attempt(client, PASSWORD).status_code == 302


@override_settings(BEHIND_PROXY=True)
def test_behind_the_proxy_the_address_is_the_one_the_proxy_appended(user, settings):
    """A guesser cannot dodge the lock by writing X-Forwarded-For, nor lock out everyone
    behind the proxy (every request reaches Django from the proxy's address)."""
    client = Client(REMOTE_ADDR="127.0.0.1")
    for n in range(settings.AXES_FAILURE_LIMIT):
        forged = f"10.0.0.{n}, 203.0.113.50"  # the client wrote 10.0.0.n; the proxy appended
        attempt(client, "wrong", HTTP_X_FORWARDED_FOR=forged)
    dodging = attempt(client, PASSWORD, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.50")
    assert dodging.status_code == 429
    assert attempt(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.51").status_code == 302
