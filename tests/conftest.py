import pytest
from rest_framework.test import APIClient

from chama.roles import Role
from tests.factories import ChamaFactory, member
from tests.helpers import login_api


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
