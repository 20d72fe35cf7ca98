import pytest
from rest_framework.test import APIClient

from chama.roles import Role
from tests.factories import ChamaFactory, member
from tests.helpers import CLOCK, login_api


@pytest.fixture
def chama(db):
    return ChamaFactory(name="Umoja")


@pytest.fixture
def other_chama(db):
    return ChamaFactory(name="Tujenge")


@pytest.fixture
def chairperson(chama):
    return member(chama, Role.CHAIRPERSON)


@pytest.fixture
def treasurer(chama):
    return member(chama, Role.TREASURER)


@pytest.fixture
def secretary(chama):
    return member(chama, Role.SECRETARY)


@pytest.fixture
def plain_member(chama):
    return member(chama)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def api_as():
    def make(user):
        return login_api(APIClient(), user)

    return make


@pytest.fixture
def clock(monkeypatch):
    """Lets a test move every chama's today with `today_is(day)` as its story goes on."""
    from groups.models import Chama

    real = Chama.today
    monkeypatch.setattr(Chama, "today", lambda chama: CLOCK.today(chama, real))
    CLOCK.installed = True
    yield CLOCK
    CLOCK.installed, CLOCK.pinned = False, None


@pytest.fixture(autouse=True)
def books_reconcile(request):
    """After every test that used the database, every cached figure equals the ledger
    (tests that tamper with a cache on purpose repair it before they end)."""
    database = _database_fixture(request)
    if database is None:
        yield
        return
    request.getfixturevalue(database)  # so this check runs before the test's data is rolled back
    yield
    from finance.services.reconcile import all_drift

    drift = all_drift()
    assert drift == [], f"cached figures drifted from the ledger: {[(d.what, d.cached, d.actual) for d in drift]}"


def _database_fixture(request):
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (marker and marker.kwargs.get("transaction")):
        return "transactional_db"
    if "db" in request.fixturenames or marker:
        return "db"
    return None
