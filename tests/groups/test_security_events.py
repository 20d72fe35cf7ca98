"""Security events: failed and locked logins, money actions refused and spent refresh tokens used
again are recorded with the client's address and user agent, in each chama of the person concerned;
the chairperson reads their chama's, platform staff every one."""

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from chama.roles import Role
from groups.models import SecurityEvent
from tests.factories import PASSWORD, ChamaFactory, MembershipFactory, UserFactory, joined
from tests.helpers import login_api

pytestmark = pytest.mark.django_db
K = SecurityEvent.Kind
AGENT = "ChamaApp/3.1 (Android 14)"


def attempt(login, password="not-the-password", address="10.1.2.3"):
    return APIClient().post(
        "/api/v1/auth/token/",
        {"login": login, "password": password},
        format="json",
        REMOTE_ADDR=address,
        HTTP_USER_AGENT=AGENT,
    )


def test_a_failed_login_is_recorded_in_each_chama_of_the_person_with_where_it_came_from():
    umoja, tujenge = ChamaFactory(), ChamaFactory()
    wanjiku = joined(umoja)
    MembershipFactory(chama=tujenge, user=wanjiku.user)

    assert attempt(str(wanjiku.user.phone_number)).status_code == 401
    assert attempt("+254799999999").status_code == 401  # nobody's number

    mine = SecurityEvent.objects.filter(user=wanjiku.user)
    assert sorted(mine.values_list("chama_id", flat=True)) == sorted([umoja.pk, tujenge.pk])
    assert {(e.kind, e.ip_address, e.user_agent) for e in mine} == {(K.LOGIN_FAILED, "10.1.2.3", AGENT)}
    nobody = SecurityEvent.objects.get(user__isnull=True)
    # Not someone's login (perhaps a password typed in the wrong box): only its start and length are kept.
    assert (nobody.chama_id, nobody.login, nobody.kind) == (None, "+254… (13 characters)", K.LOGIN_FAILED)


def test_a_lock_is_recorded_once_however_many_attempts_it_refuses():
    member = joined(ChamaFactory())
    login = str(member.user.phone_number)
    for _ in range(settings.LOGIN_FAILURE_LIMIT + 2):
        attempt(login)

    assert SecurityEvent.objects.filter(user=member.user, kind=K.LOGIN_LOCKED).count() == 1
    assert (
        SecurityEvent.objects.filter(user=member.user, kind=K.LOGIN_FAILED).count() == settings.LOGIN_FAILURE_LIMIT + 2
    )


def test_a_money_action_refused_is_recorded_in_its_chama():
    chama = ChamaFactory()
    member = joined(chama)
    api = login_api(APIClient(), member.user)

    refused = api.post(
        f"/api/v1/chamas/{chama.pk}/payments/",
        {"membership": member.pk, "amount": "500", "method": "cash"},
        format="json",
        HTTP_USER_AGENT=AGENT,
    )

    assert refused.status_code == 403
    event = SecurityEvent.objects.get(kind=K.REFUSED)
    assert (event.chama_id, event.user_id, event.user_agent) == (chama.pk, member.user_id, AGENT)
    assert event.detail.startswith("record_payment: ")
    assert api.get(f"/api/v1/chamas/{chama.pk}/members/").status_code == 200
    assert SecurityEvent.objects.filter(kind=K.REFUSED).count() == 1  # reads refused or not are not events


def test_a_spent_refresh_token_used_again_is_recorded():
    member = joined(ChamaFactory())
    client = APIClient()
    tokens = client.post(
        "/api/v1/auth/token/", {"login": str(member.user.phone_number), "password": PASSWORD}, format="json"
    ).json()
    assert client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json").status_code == 200

    again = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")

    assert again.status_code == 401
    event = SecurityEvent.objects.get(kind=K.TOKEN_REUSE)
    assert (event.user_id, event.chama_id) == (member.user_id, member.chama_id)
    forged = client.post("/api/v1/auth/token/refresh/", {"refresh": "not.a.token"}, format="json")
    assert forged.status_code == 401 and SecurityEvent.objects.filter(kind=K.TOKEN_REUSE).count() == 1


def test_the_chairperson_reads_their_chamas_events_and_staff_read_all(client):
    umoja, tujenge = ChamaFactory(), ChamaFactory()
    ours, theirs = joined(umoja), joined(tujenge)
    attempt(str(ours.user.phone_number))
    attempt(str(theirs.user.phone_number))
    attempt("+254799999999")
    events = reverse("admin:groups_securityevent_changelist")

    client.force_login(joined(umoja, Role.CHAIRPERSON).user)
    shown = client.get(events).context["cl"].result_list
    assert {event.chama_id for event in shown} == {umoja.pk}
    client.force_login(joined(umoja, Role.TREASURER).user)
    assert client.get(events).status_code == 403
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert {event.chama_id for event in client.get(events).context["cl"].result_list} == {umoja.pk, tujenge.pk, None}
