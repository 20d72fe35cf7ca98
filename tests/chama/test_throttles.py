"""Routes a stranger could hammer are throttled per client, in the shared cache: logins and token
refreshes per address, M-Pesa pushes per person, Safaricom's callbacks per address; a 429 says when
to try again. (The test settings raise every rate far above a test's traffic; here it is lowered.)"""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict(monkeypatch):
    monkeypatch.setattr(
        ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min", "mpesa_push": "2/min", "mpesa_callback": "5/min"}
    )
    cache.clear()
    yield
    cache.clear()


def test_a_fourth_login_in_a_minute_from_one_address_waits(strict):
    user = UserFactory()
    client = APIClient()
    login = {"login": str(user.phone_number), "password": PASSWORD}

    answers = [client.post("/api/v1/auth/token/", login, format="json") for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert int(answers[-1]["Retry-After"]) > 0 and "throttled" in answers[-1].json()["detail"].lower()
    other_address = client.post("/api/v1/auth/token/", login, format="json", REMOTE_ADDR="10.0.0.9")
    assert other_address.status_code == 200  # counted per address
    refresh = answers[0].json()["refresh"]
    assert client.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json").status_code == 429


def test_safaricoms_callbacks_are_counted_per_address(strict):
    client = APIClient()
    codes = [client.post("/api/v1/chamas/1/mpesa/c2b/not-a-secret/", {}, format="json").status_code for _ in range(6)]
    assert 429 not in codes[:5] and codes[5] == 429
