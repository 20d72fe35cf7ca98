"""The seed_demo command: two demo chamas with officers and members, safe to run twice, whose printed
logins work against the API."""

import io
import json
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from chama.roles import MembershipStatus, Role
from groups.models import Chama, Membership

User = get_user_model()

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123"


def seed(*args):
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def seed_json():
    return json.loads(seed("--json", "--password", PASSWORD))


def snapshot():
    return {
        "users": sorted(User.objects.values_list("pk", flat=True)),
        "chamas": sorted(Chama.objects.values_list("pk", flat=True)),
        "memberships": sorted(
            Membership.objects.values_list("pk", "chama_id", "user_id", "member_number", "role", "status")
        ),
    }


def test_json_shape_and_content():
    data = seed_json()

    assert set(data) == {"chamas"}
    assert len(data["chamas"]) >= 2
    for entry in data["chamas"]:
        assert {"id", "name", "logins"} <= set(entry)
        assert isinstance(entry["id"], int)
        chama = Chama.objects.get(pk=entry["id"])
        assert entry["name"] == chama.name
        assert entry["logins"]
        for login in entry["logins"]:
            assert {"role", "username", "password"} <= set(login)
            assert login["password"] == PASSWORD
            assert login["role"] in Role.values

        roles = Counter(login["role"] for login in entry["logins"])
        assert roles[Role.CHAIRPERSON] == 1
        assert roles[Role.TREASURER] == 1
        assert roles[Role.SECRETARY] == 1
        assert roles[Role.MEMBER] >= 10

        # The logins are the chama's active members, with the roles they hold there.
        stored = {
            str(phone): role
            for phone, role in Membership.objects.filter(chama=chama, status=MembershipStatus.ACTIVE)
            .values_list("user__phone_number", "role")
        }
        assert stored == {login["username"]: login["role"] for login in entry["logins"]}

    kinds = {Chama.objects.get(pk=entry["id"]).kind for entry in data["chamas"]}
    assert {Chama.Kind.VSLA, Chama.Kind.ROSCA} <= kinds


def test_the_demo_data_by_hand():
    data = seed_json()

    # 25 people; two chamas of 3 officers and 10 members each; Peter Otieno is in both.
    assert User.objects.count() == 25
    assert Chama.objects.count() == 2
    assert Membership.objects.count() == 26
    for chama in Chama.objects.all():
        assert chama.status == Chama.Status.ACTIVE
        assert chama.members_count == 13
        numbers = sorted(chama.memberships.values_list("member_number", flat=True))
        assert numbers == [f"M{n:03d}" for n in range(1, 14)]
        assert hasattr(chama, "policy")
    officers = User.objects.filter(
        memberships__role__in=[Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY]
    ).distinct()
    assert officers.count() == 6
    assert all(officer.is_staff for officer in officers)
    assert not User.objects.filter(is_staff=True).exclude(pk__in=officers).exists()
    assert {entry["name"] for entry in data["chamas"]} == set(Chama.objects.values_list("name", flat=True))


def test_second_run_creates_nothing_new():
    first = seed_json()
    before = snapshot()

    second = seed_json()

    assert snapshot() == before
    assert [(c["id"], c["name"]) for c in second["chamas"]] == [(c["id"], c["name"]) for c in first["chamas"]]
    assert [c["logins"] for c in second["chamas"]] == [c["logins"] for c in first["chamas"]]
    for chama in Chama.objects.all():
        active = Membership.objects.filter(chama=chama, status=MembershipStatus.ACTIVE).count()
        assert chama.members_count == active == 13


def test_every_login_works_with_the_given_password():
    data = seed_json()
    seed_json()  # a second run must not break the logins

    usernames = {login["username"] for entry in data["chamas"] for login in entry["logins"]}
    assert len(usernames) == 25
    for entry in data["chamas"]:
        assert entry["logins"], entry["name"]
    for username in sorted(usernames):
        response = APIClient().post("/api/v1/auth/token/", {"login": username, "password": PASSWORD}, format="json")
        assert response.status_code == 200, (username, response.content)
        assert response.json()["access"]


def test_a_login_per_chama_reaches_its_chama_through_the_api():
    data = seed_json()

    for entry in data["chamas"]:
        chairperson = next(login for login in entry["logins"] if login["role"] == Role.CHAIRPERSON)
        client = APIClient()
        response = client.post(
            "/api/v1/auth/token/", {"login": chairperson["username"], "password": chairperson["password"]}, format="json",
        )
        assert response.status_code == 200, response.content
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
        response = client.get(f"/api/v1/chamas/{entry['id']}/members/")
        assert response.status_code == 200, response.content
        assert response.json()["count"] == 13


def test_wrong_password_is_refused():
    data = seed_json()
    username = data["chamas"][0]["logins"][0]["username"]

    response = APIClient().post("/api/v1/auth/token/", {"login": username, "password": "Chama-demo-2026"}, format="json")

    assert response.status_code == 401


def test_table_output_lists_the_usernames():
    output = seed("--password", PASSWORD)

    for chama in Chama.objects.all():
        assert chama.name in output
        for phone in chama.memberships.values_list("user__phone_number", flat=True):
            assert str(phone) in output
    assert PASSWORD in output
    assert "{" not in output  # a table, not JSON


def test_table_output_with_the_default_password_and_that_password_works():
    output = seed()

    assert "Chama-demo-2026" in output
    username = str(Chama.objects.get(kind=Chama.Kind.ROSCA).memberships.get(role=Role.CHAIRPERSON).user.phone_number)
    assert username in output
    response = APIClient().post("/api/v1/auth/token/", {"login": username, "password": "Chama-demo-2026"}, format="json")
    assert response.status_code == 200, response.content
