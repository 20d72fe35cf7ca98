"""Roles: what a member, a treasurer, a secretary and a chairperson may do, chama by chama."""

import pytest

from chama.roles import MembershipStatus, Role
from groups import services
from groups.models import Membership
from tests.factories import ChamaFactory, UserFactory, member
from tests.helpers import results


@pytest.fixture
def two_chamas(db):
    """Peter is treasurer of Umoja and a plain member of Tujenge."""
    umoja, tujenge = ChamaFactory(name="Umoja"), ChamaFactory(name="Tujenge")
    peter = member(umoja, Role.TREASURER, first_name="Peter")
    services.admit_member(chama=tujenge, user=peter, role=Role.MEMBER)
    member(tujenge, Role.CHAIRPERSON)
    member(tujenge)
    return umoja, tujenge, peter


def test_member_cannot_do_officer_actions(chama, plain_member, secretary, api_as):
    client = api_as(plain_member)
    membership = Membership.objects.get(user=secretary)
    join_request = services.join_request_create(chama=chama, user=UserFactory())

    refused = [
        client.post(
            f"/api/v1/chamas/{chama.pk}/members/",
            {"phone_number": "0712000999", "first_name": "A", "last_name": "B"},
            format="json",
        ),
        client.patch(f"/api/v1/chamas/{chama.pk}/members/{membership.pk}/", {"status": "suspended"}, format="json"),
        client.get(f"/api/v1/chamas/{chama.pk}/join-requests/"),
        client.post(f"/api/v1/chamas/{chama.pk}/join-requests/{join_request.pk}/approve/"),
        client.post(f"/api/v1/chamas/{chama.pk}/invitations/", {"phone_number": "0712000999"}, format="json"),
    ]

    assert [response.status_code for response in refused] == [403] * 5
    assert all("detail" in response.json() for response in refused)
    assert Membership.objects.get(pk=membership.pk).status == MembershipStatus.ACTIVE


def test_treasurer_of_one_chama_is_a_plain_member_in_another(two_chamas, api_as):
    umoja, tujenge, peter = two_chamas
    client = api_as(peter)

    in_umoja = client.get(f"/api/v1/chamas/{umoja.pk}/members/")
    in_tujenge = client.get(f"/api/v1/chamas/{tujenge.pk}/members/")
    add_in_tujenge = client.post(
        f"/api/v1/chamas/{tujenge.pk}/members/",
        {"phone_number": "0712000999", "first_name": "A", "last_name": "B"},
        format="json",
    )
    join_requests_in_tujenge = client.get(f"/api/v1/chamas/{tujenge.pk}/join-requests/")

    assert "phone_number" in results(in_umoja)[0]["user"]  # officers see contact details
    assert "phone_number" not in results(in_tujenge)[0]["user"]  # fellow members do not
    assert add_in_tujenge.status_code == 403
    assert join_requests_in_tujenge.status_code == 403
    roles = {row["chama_name"]: row["role"] for row in client.get("/api/v1/me/").json()["memberships"]}
    assert roles == {"Umoja": "treasurer", "Tujenge": "member"}


def test_treasurer_sees_only_their_chama_in_the_admin(two_chamas, client):
    umoja, tujenge, peter = two_chamas
    client.force_login(peter)

    chamas = client.get("/admin/groups/chama/").context["cl"].result_list
    memberships = client.get("/admin/groups/membership/").context["cl"].result_list

    assert [chama.name for chama in chamas] == ["Umoja"]
    assert {m.chama_id for m in memberships} == {umoja.pk}
    assert client.get(f"/admin/groups/chama/{tujenge.pk}/change/").status_code == 302


def test_treasurer_cannot_add_members_but_secretary_can(chama, treasurer, secretary, client):
    client.force_login(treasurer)
    assert client.get("/admin/groups/membership/add/").status_code == 403

    client.force_login(secretary)
    response = client.post(
        "/admin/groups/membership/add/",
        {
            "phone_number": "0712 000 555",
            "first_name": "Mary",
            "last_name": "Achieng",
            "email": "",
            "id_number": "",
            "chama": chama.pk,
            "role": Role.MEMBER,
            "member_number": "",
            "joined_date": "2026-01-10",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    added = Membership.objects.get(user__phone_number="+254712000555")
    assert (added.chama, added.role, str(added.joined_date)) == (chama, Role.MEMBER, "2026-01-10")
    chama.refresh_from_db()
    assert chama.members_count == 3


def test_secretary_cannot_appoint_officers_in_the_admin(chama, secretary, plain_member, client):
    client.force_login(secretary)
    membership = Membership.objects.get(user=plain_member)

    response = client.post(
        f"/admin/groups/membership/{membership.pk}/change/",
        {
            "role": Role.TREASURER,
            "status": MembershipStatus.ACTIVE,
            "member_number": membership.member_number,
            "joined_date": str(membership.joined_date),
            "exit_reason": "",
        },
    )

    assert response.status_code == 200
    assert "Only the chairperson" in str(response.context["adminform"].form.errors)
    assert Membership.objects.get(pk=membership.pk).role == Role.MEMBER


def test_staff_without_an_officer_role_sees_nothing(chama, client):
    staff = UserFactory(is_staff=True)
    member(chama)  # rows exist
    client.force_login(staff)

    index = client.get("/admin/")

    assert index.status_code == 200
    assert index.context["app_list"] == []
    assert client.get("/admin/groups/membership/").status_code == 403


def test_a_change_of_role_takes_effect_at_once(chama, chairperson, treasurer, client):
    client.force_login(treasurer)
    assert client.get("/admin/groups/membership/").status_code == 200

    services.membership_change_role(membership=Membership.objects.get(user=treasurer), role=Role.MEMBER, by=chairperson)
    assert client.get("/admin/groups/membership/").status_code == 403
    assert client.get("/admin/").context["app_list"] == []

    services.membership_change_role(
        membership=Membership.objects.get(user=treasurer), role=Role.SECRETARY, by=chairperson
    )
    assert client.get("/admin/groups/membership/add/").status_code == 200


def test_exited_officer_loses_the_back_office(chama, chairperson, secretary, client):
    client.force_login(secretary)
    services.membership_change_status(
        membership=Membership.objects.get(user=secretary), status=MembershipStatus.EXITED, by=chairperson
    )

    assert client.get("/admin/groups/membership/").status_code == 403


def test_role_specific_rights_in_the_api(chama, chairperson, secretary, plain_member, api_as):
    target = Membership.objects.get(user=plain_member)
    url = f"/api/v1/chamas/{chama.pk}/members/{target.pk}/"

    by_secretary = api_as(secretary).patch(url, {"role": "treasurer"}, format="json")
    by_chairperson = api_as(chairperson).patch(url, {"role": "treasurer"}, format="json")

    assert by_secretary.status_code == 403
    assert "chairperson" in by_secretary.json()["detail"]
    assert by_chairperson.status_code == 200
    assert by_chairperson.json()["role"] == "treasurer"
