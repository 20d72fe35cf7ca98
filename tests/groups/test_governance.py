"""Membership governance: a chairperson's suspension, exit or demotion and a member number once money
was posted need a second officer; the last chairperson stays; a registered person is invited, never
enrolled; fellow members see names and numbers only. Each rule through the service, the API and the admin."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.utils import timezone

from chama import authority, tenancy
from chama.models import Notification
from chama.roles import MembershipStatus, Role
from finance.models import MpesaChannel, MpesaReceipt
from finance.services import dues, mpesa
from groups import services
from groups.models import Invitation, Membership, MembershipChangeRequest
from tests.factories import MembershipFactory, UserFactory, member
from tests.helpers import results

User = get_user_model()
Change = MembershipChangeRequest
ACTIVE, SUSPENDED, EXITED = MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED, MembershipStatus.EXITED


def membership_of(user):
    return Membership.objects.select_related("chama", "user").get(user=user)


def fresh(user):
    """The person as the next request loads them (their roles are not cached yet)."""
    return User.objects.get(pk=user.pk)


def pay(membership, by, amount="500"):
    return dues.payment_record(membership=membership, amount=amount, method="cash", by=by)


def signature_requests(change):
    return set(
        Notification.objects.filter(
            kind=Notification.Kind.SIGNATURE, dedupe_key=f"sign-membership-change-{change.pk}"
        ).values_list("user_id", flat=True)
    )


def admin_messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def vice(chama):
    """A second chairperson: without one, the chairperson could never be removed at all."""
    return member(chama, Role.CHAIRPERSON, first_name="Vice")


# --- a chairperson's suspension, exit and demotion ----------------------------------------------


def test_secretary_suspending_the_chairperson_waits_for_a_second_officer(
    chama, chairperson, vice, treasurer, secretary
):
    chair = membership_of(chairperson)

    change = services.membership_change_status(membership=chair, status=SUSPENDED, by=secretary, reason="Misused funds")

    assert isinstance(change, Change)
    assert (change.status, change.kind, change.previous_value, change.requested_value, change.requested_by) == (
        Change.Status.PENDING,
        Change.Kind.STATUS,
        ACTIVE,
        SUSPENDED,
        secretary,
    )
    assert membership_of(chairperson).status == ACTIVE
    assert authority.may(
        fresh(chairperson), "change_roles", chama=chama
    )  # keeps the office until a second officer signs
    # the officers who may sign are asked; not the one who asked, not the chairperson concerned
    assert signature_requests(change) == {vice.pk, treasurer.pk}

    services.membership_change_approve(change=change, by=treasurer)

    change.refresh_from_db()
    assert (change.status, change.decided_by, change.decided_date is not None) == (
        Change.Status.APPROVED,
        treasurer,
        True,
    )
    assert membership_of(chairperson).status == SUSPENDED
    assert chama.pk not in tenancy.chama_roles(fresh(chairperson))


def test_exiting_the_chairperson_keeps_the_reason_once_approved(chama, chairperson, vice, secretary):
    change = services.membership_change_status(
        membership=membership_of(chairperson), status=EXITED, by=secretary, reason="Moved to Mombasa"
    )

    services.membership_change_approve(change=change, by=vice)

    chair = membership_of(chairperson)
    assert (chair.status, chair.exit_reason, chair.exited_date) == (EXITED, "Moved to Mombasa", chama.today())


def test_the_asker_and_the_chairperson_concerned_cannot_sign(chama, chairperson, vice, secretary):
    change = services.membership_change_status(membership=membership_of(chairperson), status=SUSPENDED, by=secretary)

    with pytest.raises(authority.Refused, match="second officer"):
        services.membership_change_approve(change=change, by=secretary)
    with pytest.raises(authority.Refused, match="another officer"):
        services.membership_change_approve(change=change, by=chairperson)
    with pytest.raises(authority.Refused):
        services.membership_change_reject(change=change, by=chairperson, reason="I object")
    with pytest.raises(authority.Refused):
        services.membership_change_approve(change=change, by=member(chama))  # a plain member signs nothing

    change.refresh_from_db()
    assert change.status == Change.Status.PENDING
    assert membership_of(chairperson).status == ACTIVE


def test_demoting_a_chairperson_waits_for_a_second_officer(chama, chairperson, vice, treasurer):
    change = services.membership_change_role(membership=membership_of(chairperson), role=Role.MEMBER, by=vice)

    assert (change.kind, change.requested_value) == (Change.Kind.ROLE, Role.MEMBER)
    assert membership_of(chairperson).role == Role.CHAIRPERSON

    services.membership_change_approve(change=change, by=treasurer)

    assert membership_of(chairperson).role == Role.MEMBER


def test_other_officers_are_suspended_and_demoted_at_once(chama, chairperson, treasurer, secretary):
    suspended = services.membership_change_status(membership=membership_of(treasurer), status=SUSPENDED, by=secretary)
    demoted = services.membership_change_role(membership=membership_of(secretary), role=Role.MEMBER, by=chairperson)

    assert (suspended.status, demoted.role) == (SUSPENDED, Role.MEMBER)
    assert not Change.objects.exists()


@pytest.mark.parametrize("status", [SUSPENDED, EXITED])
def test_the_last_chairperson_can_never_be_suspended_or_exited(chama, chairperson, secretary, status):
    with pytest.raises(ValidationError, match="last chairperson of Umoja: appoint another chairperson first"):
        services.membership_change_status(membership=membership_of(chairperson), status=status, by=secretary)

    assert membership_of(chairperson).status == ACTIVE
    assert not Change.objects.exists()


def test_the_last_chairperson_is_checked_again_when_the_second_officer_signs(
    chama, chairperson, vice, treasurer, secretary
):
    first = services.membership_change_status(membership=membership_of(chairperson), status=EXITED, by=secretary)
    second = services.membership_change_role(membership=membership_of(vice), role=Role.MEMBER, by=chairperson)
    services.membership_change_approve(change=first, by=treasurer)

    with pytest.raises(ValidationError, match="last chairperson"):
        services.membership_change_approve(change=second, by=treasurer)

    assert membership_of(vice).role == Role.CHAIRPERSON
    second.refresh_from_db()
    assert second.status == Change.Status.PENDING


def test_rejecting_changes_nothing_and_tells_the_asker(chama, chairperson, vice, treasurer, secretary):
    change = services.membership_change_status(membership=membership_of(chairperson), status=SUSPENDED, by=secretary)

    services.membership_change_reject(change=change, by=treasurer, reason="No minutes of the decision")

    change.refresh_from_db()
    assert (change.status, change.decided_by, change.rejection_reason) == (
        Change.Status.REJECTED,
        treasurer,
        "No minutes of the decision",
    )
    assert membership_of(chairperson).status == ACTIVE
    assert Notification.objects.filter(user=secretary, title__contains="rejected").exists()
    with pytest.raises(ValidationError, match="already rejected"):
        services.membership_change_approve(change=change, by=vice)


def test_asking_again_returns_the_waiting_change(chama, chairperson, vice, secretary):
    chair = membership_of(chairperson)
    first = services.membership_change_status(membership=chair, status=SUSPENDED, by=secretary)

    again = services.membership_change_status(membership=chair, status=SUSPENDED, by=secretary)
    with pytest.raises(ValidationError, match="already waits for a second officer"):
        services.membership_change_status(membership=chair, status=EXITED, by=secretary)

    assert again.pk == first.pk
    assert Change.objects.count() == 1


# --- member numbers -----------------------------------------------------------------------------


@pytest.fixture
def john(chama):
    return MembershipFactory(chama=chama, member_number="M004", user=UserFactory(first_name="John"))


def test_a_member_number_without_money_changes_at_once_and_is_recorded(chama, secretary, john):
    changed = services.membership_change_member_number(membership=john, member_number="M104", by=secretary)

    assert changed.member_number == "M104"
    record = Change.objects.get(membership=john)
    assert (record.kind, record.previous_value, record.requested_value, record.status, record.decided_by) == (
        Change.Kind.MEMBER_NUMBER,
        "M004",
        "M104",
        Change.Status.APPROVED,
        secretary,
    )
    assert Notification.objects.filter(user=john.user, title__contains="your member number is now M104").exists()


def test_secretary_renumbering_members_after_money_is_refused(chama, chairperson, treasurer, secretary, john):
    """John M004 → M904, then herself → M004: payments for John would land on the secretary."""
    secretary_membership = membership_of(secretary)
    pay(john, treasurer)
    pay(secretary_membership, treasurer)

    with pytest.raises(authority.Refused, match="Only the chairperson"):
        services.membership_change_member_number(membership=john, member_number="M904", by=secretary)
    with pytest.raises(authority.Refused):
        services.membership_change_member_number(membership=secretary_membership, member_number="M004", by=secretary)

    assert membership_of(john.user).member_number == "M004"
    assert not Change.objects.exists()


def test_after_money_the_chairperson_asks_and_a_second_officer_renumbers(
    chama, chairperson, treasurer, secretary, john
):
    pay(john, treasurer)

    change = services.membership_change_member_number(
        membership=john, member_number="M904", by=chairperson, reason="Numbering by year"
    )

    assert (change.status, change.previous_value, change.requested_value) == (Change.Status.PENDING, "M004", "M904")
    assert membership_of(john.user).member_number == "M004"
    assert signature_requests(change) == {treasurer.pk, secretary.pk}
    with pytest.raises(authority.Refused):
        services.membership_change_approve(change=change, by=john.user)  # not the member concerned either

    services.membership_change_approve(change=change, by=secretary)

    assert membership_of(john.user).member_number == "M904"
    assert Notification.objects.filter(user=john.user, title__contains="your member number is now M904").exists()


def test_nobody_renumbers_themselves(chama, chairperson, treasurer, secretary):
    mine = membership_of(chairperson)
    pay(mine, treasurer)

    with pytest.raises(authority.Refused, match="for themselves"):
        services.membership_change_member_number(membership=mine, member_number="M900", by=chairperson)

    assert membership_of(chairperson).member_number == mine.member_number


def test_member_numbers_stay_unique_in_the_chama(chama, chairperson, secretary, john):
    with pytest.raises(ValidationError) as exc_info:
        services.membership_change_member_number(
            membership=membership_of(secretary), member_number="M004", by=chairperson
        )

    assert exc_info.value.message_dict == {
        "member_number": [f"Member number M004 is already John {john.user.last_name}'s in Umoja."]
    }


def test_a_freed_number_is_checked_again_when_the_second_officer_signs(chama, chairperson, treasurer, secretary, john):
    pay(john, treasurer)
    mine = membership_of(treasurer)
    pay(mine, treasurer)
    change = services.membership_change_member_number(membership=mine, member_number="M777", by=chairperson)
    other = MembershipFactory(chama=chama, member_number="M777")  # admitted meanwhile with that number

    with pytest.raises(ValidationError, match="M777 is already"):
        services.membership_change_approve(change=change, by=secretary)

    assert other.member_number == membership_of(other.user).member_number == "M777"


# --- M-Pesa: a number changed lately matches nobody ---------------------------------------------


def c2b_receipt(chama, reference, number):
    channel = MpesaChannel.objects.get_or_create(chama=chama, defaults={"shortcode": "600638"})[0]
    return mpesa.receive(
        channel=channel,
        source="c2b",
        payload={},
        fields={
            "receipt_number": number,
            "amount": Decimal("1000"),
            "phone_number": "+254799000111",
            "account_reference": reference,
            "payer_name": "Paybill",
            "transaction_time": None,
        },
    )


def test_a_paybill_payment_naming_a_number_changed_lately_waits_in_suspense(
    chama, chairperson, treasurer, secretary, john
):
    pay(john, treasurer)
    secretary_membership = membership_of(secretary)
    pay(secretary_membership, treasurer)
    for membership, number in ((john, "M904"), (secretary_membership, "M004")):
        change = services.membership_change_member_number(membership=membership, member_number=number, by=chairperson)
        services.membership_change_approve(change=change, by=treasurer)

    old_number = c2b_receipt(chama, "M004", "QA00000001")  # John paying with the number he remembers
    new_number = c2b_receipt(chama, "m904", "QA00000002")
    elsewhere = c2b_receipt(chama, membership_of(chairperson).member_number, "QA00000003")

    assert (old_number.status, old_number.membership) == (MpesaReceipt.Status.SUSPENSE, None)
    assert (new_number.status, new_number.membership) == (MpesaReceipt.Status.SUSPENSE, None)
    assert (elsewhere.status, elsewhere.membership) == (MpesaReceipt.Status.POSTED, membership_of(chairperson))


def test_after_ninety_days_the_new_number_matches_again(chama, secretary, john):
    services.membership_change_member_number(membership=john, member_number="M904", by=secretary)
    Change.objects.update(decided_date=timezone.now() - timedelta(days=91))

    assert mpesa.match_member(chama, "M904", "") == membership_of(john.user)


# --- adding a registered person: an invitation, never an enrolment ------------------------------


@pytest.fixture
def registered(other_chama):
    """Akinyi is on the platform already (a member of another chama, with her own password)."""
    return member(
        other_chama,
        phone_number="+254700111222",
        first_name="Akinyi",
        last_name="Odhiambo",
        email="akinyi@example.co.ke",
        id_number="29000111",
    )


def test_enrolling_a_registered_person_through_the_api_invites_them(chama, secretary, registered, api_as):
    response = api_as(secretary).post(
        f"/api/v1/chamas/{chama.pk}/members/",
        {
            "phone_number": "0700111222",
            "first_name": "Someone",
            "last_name": "Else",
            "email": "other@example.co.ke",
        },
        format="json",
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["first_name"], body["last_name"], body["status"]) == ("Akinyi", "Odhiambo", "pending")
    assert "already registered" in body["detail"]
    assert "email" not in body
    assert "akinyi@example.co.ke" not in response.content.decode() and "29000111" not in response.content.decode()
    assert not Membership.objects.filter(chama=chama, user=registered).exists()
    told = Notification.objects.get(user=registered, title="Invitation to join Umoja")
    assert body["token"] in told.body

    accepted = api_as(registered).post("/api/v1/invitations/accept/", {"token": body["token"]}, format="json")

    assert accepted.status_code == 201, accepted.content
    assert membership_of_in(chama, registered).status == ACTIVE


def membership_of_in(chama, user):
    return Membership.objects.get(chama=chama, user=user)


def test_enrolling_a_new_person_still_admits_them(chama, secretary, api_as):
    response = api_as(secretary).post(
        f"/api/v1/chamas/{chama.pk}/members/",
        {
            "phone_number": "0700999888",
            "first_name": "New",
            "last_name": "Person",
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["status"] == ACTIVE


def test_enrolling_a_registered_person_in_the_admin_invites_them(chama, secretary, registered, client):
    client.force_login(secretary)

    response = client.post(
        "/admin/groups/membership/add/",
        {
            "phone_number": "0700111222",
            "first_name": "Someone",
            "last_name": "Else",
            "email": "",
            "id_number": "",
            "chama": chama.pk,
            "role": Role.MEMBER,
            "member_number": "M050",
            "joined_date": "2026-01-10",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/groups/invitation/"
    assert any("Akinyi Odhiambo is already registered" in m for m in admin_messages(response))
    assert not Membership.objects.filter(chama=chama, user=registered).exists()
    invitation = Invitation.objects.get(chama=chama)
    assert (invitation.first_name, invitation.member_number, invitation.email) == ("Akinyi", "M050", "")

    services.invitation_accept(token=invitation.token, user=registered)

    assert membership_of_in(chama, registered).member_number == "M050"


# --- what a plain member sees and searches ------------------------------------------------------


def test_a_plain_member_searching_by_phone_finds_nobody(chama, secretary, plain_member, api_as):
    target = member(chama, phone_number="+254722333444", first_name="Zawadi", email="zawadi@example.co.ke")
    url = f"/api/v1/chamas/{chama.pk}/members/"
    as_member, as_officer = api_as(plain_member), api_as(secretary)

    assert results(as_member.get(url, {"search": "+254722333444"})) == []
    assert results(as_member.get(url, {"search": "722333444"})) == []
    assert results(as_member.get(url, {"search": "zawadi@example"})) == []
    by_name = results(as_member.get(url, {"search": "Zawadi"}))
    by_number = results(as_member.get(url, {"search": membership_of_in(chama, target).member_number}))
    assert (
        [row["user"]["first_name"] for row in by_name] == [row["user"]["first_name"] for row in by_number] == ["Zawadi"]
    )
    assert set(by_name[0]["user"]) == {"id", "first_name", "last_name"}  # no phone, email or ID number
    assert [row["user"]["id"] for row in results(as_officer.get(url, {"search": "722333444"}))] == [target.pk]


# --- the API --------------------------------------------------------------------------------------


def test_api_patch_answers_202_and_a_second_officer_approves(chama, chairperson, vice, treasurer, secretary, api_as):
    chair = membership_of(chairperson)

    response = api_as(secretary).patch(
        f"/api/v1/chamas/{chama.pk}/members/{chair.pk}/", {"status": "suspended"}, format="json"
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["kind"], body["requested_value"], body["member"]["id"]) == (
        "pending",
        "status",
        "suspended",
        chair.pk,
    )
    as_chair = api_as(chairperson)
    assert as_chair.get(f"/api/v1/chamas/{chama.pk}/members/").status_code == 200  # still in office
    changes = f"/api/v1/chamas/{chama.pk}/member-changes/"
    assert [row["id"] for row in results(api_as(treasurer).get(changes, {"status": "pending"}))] == [body["id"]]
    assert api_as(secretary).post(f"{changes}{body['id']}/approve/").status_code == 403
    assert as_chair.post(f"{changes}{body['id']}/reject/", {"reason": "No"}, format="json").status_code == 403

    approved = api_as(treasurer).post(f"{changes}{body['id']}/approve/")

    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    assert membership_of(chairperson).status == SUSPENDED
    assert as_chair.get(f"/api/v1/chamas/{chama.pk}/members/").status_code == 404


def test_api_the_last_chairperson_cannot_be_exited(chama, chairperson, secretary, api_as):
    chair = membership_of(chairperson)

    response = api_as(secretary).patch(
        f"/api/v1/chamas/{chama.pk}/members/{chair.pk}/", {"status": "exited", "exit_reason": "Moved"}, format="json"
    )

    assert response.status_code == 400
    assert "last chairperson" in str(response.json())
    assert membership_of(chairperson).status == ACTIVE


def test_api_member_number_after_money(chama, chairperson, treasurer, secretary, john, api_as):
    pay(john, treasurer)
    url = f"/api/v1/chamas/{chama.pk}/members/{john.pk}/"

    by_secretary = api_as(secretary).patch(url, {"member_number": "M904"}, format="json")
    by_chair = api_as(chairperson).patch(url, {"member_number": "M904", "reason": "Typo"}, format="json")

    assert by_secretary.status_code == 403
    assert by_chair.status_code == 202
    assert (by_chair.json()["kind"], by_chair.json()["reason"]) == ("member_number", "Typo")
    rejected = api_as(secretary).post(
        f"/api/v1/chamas/{chama.pk}/member-changes/{by_chair.json()['id']}/reject/",
        {"reason": "Keep M004"},
        format="json",
    )
    assert rejected.json()["status"] == "rejected"
    assert membership_of(john.user).member_number == "M004"


def test_api_member_number_without_money_changes_at_once(chama, secretary, john, api_as):
    response = api_as(secretary).patch(
        f"/api/v1/chamas/{chama.pk}/members/{john.pk}/", {"member_number": "M104"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["member_number"] == "M104"


def test_api_two_changes_needing_signatures_at_once_are_refused(chama, chairperson, vice, api_as):
    chair = membership_of(chairperson)

    response = api_as(vice).patch(
        f"/api/v1/chamas/{chama.pk}/members/{chair.pk}/", {"status": "suspended", "role": "member"}, format="json"
    )

    assert response.status_code == 400
    assert "one at a time" in str(response.json())
    assert not Change.objects.exists()


def test_plain_members_see_no_membership_changes(chama, plain_member, api_as):
    assert api_as(plain_member).get(f"/api/v1/chamas/{chama.pk}/member-changes/").status_code == 403


# --- the back office ------------------------------------------------------------------------------


def change_form(client, membership, **changes):
    """The membership's change page as posted, with `changes`; inlines (other apps add some) left untouched."""
    page = client.get(f"/admin/groups/membership/{membership.pk}/change/")
    inlines = {}
    for inline in page.context["inline_admin_formsets"]:
        inlines.update({f"{inline.formset.prefix}-TOTAL_FORMS": 0, f"{inline.formset.prefix}-INITIAL_FORMS": 0})
    return {
        "role": membership.role,
        "status": membership.status,
        "member_number": membership.member_number,
        "joined_date": str(membership.joined_date),
        "exit_reason": "",
        **inlines,
        **changes,
    }


def test_admin_suspending_the_chairperson_waits_and_another_officer_approves(
    chama, chairperson, vice, treasurer, secretary, client
):
    chair = membership_of(chairperson)
    client.force_login(secretary)

    response = client.post(f"/admin/groups/membership/{chair.pk}/change/", change_form(client, chair, status=SUSPENDED))

    assert response.status_code == 302
    assert any("waits for a second officer" in m for m in admin_messages(response))
    assert membership_of(chairperson).status == ACTIVE
    change = Change.objects.get(membership=chair)
    client.force_login(chairperson)
    assert client.get("/admin/groups/membership/").status_code == 200  # still in office

    client.force_login(secretary)  # the one who asked cannot sign
    client.post("/admin/groups/membershipchangerequest/", {"action": "approve", "_selected_action": [change.pk]})
    assert membership_of(chairperson).status == ACTIVE

    client.force_login(treasurer)
    response = client.post(
        "/admin/groups/membershipchangerequest/", {"action": "approve", "_selected_action": [change.pk]}
    )

    assert any("1 change(s) approved" in m for m in admin_messages(response))
    assert membership_of(chairperson).status == SUSPENDED
    client.force_login(chairperson)
    assert client.get("/admin/groups/membership/").status_code == 403


def test_admin_bulk_suspend_asks_for_the_chairperson_and_suspends_the_rest(
    chama, chairperson, vice, secretary, plain_member, client
):
    client.force_login(secretary)
    rows = [membership_of(chairperson).pk, membership_of(plain_member).pk]

    response = client.post("/admin/groups/membership/", {"action": "suspend", "_selected_action": rows})

    shown = admin_messages(response)
    assert "1 member(s) suspended." in shown
    assert any("not done yet, this waits for a second officer" in m for m in shown)
    assert (membership_of(chairperson).status, membership_of(plain_member).status) == (ACTIVE, SUSPENDED)


def test_admin_the_last_chairperson_cannot_be_exited(chama, chairperson, secretary, client):
    chair = membership_of(chairperson)
    client.force_login(secretary)

    response = client.post(f"/admin/groups/membership/{chair.pk}/change/", change_form(client, chair, status=EXITED))

    assert any("last chairperson" in m for m in admin_messages(response))
    assert membership_of(chairperson).status == ACTIVE


def test_admin_renumbering_goes_through_the_service(chama, chairperson, treasurer, secretary, john, client):
    pay(john, treasurer)
    client.force_login(secretary)

    refused = client.post(
        f"/admin/groups/membership/{john.pk}/change/", change_form(client, john, member_number="M904")
    )

    assert any("Only the chairperson" in m for m in admin_messages(refused))
    assert membership_of(john.user).member_number == "M004"

    client.force_login(chairperson)
    asked = client.post(f"/admin/groups/membership/{john.pk}/change/", change_form(client, john, member_number="M904"))

    assert any("waits for a second officer" in m for m in admin_messages(asked))
    assert membership_of(john.user).member_number == "M004"
    assert Change.objects.get(membership=john).status == Change.Status.PENDING


def test_admin_refuses_a_number_in_use_on_the_form(chama, secretary, plain_member, john, client):
    target = membership_of(plain_member)
    client.force_login(secretary)

    response = client.post(
        f"/admin/groups/membership/{target.pk}/change/", change_form(client, target, member_number="M004")
    )

    assert response.status_code == 200
    assert "already John" in str(response.context["adminform"].form.errors)
