"""Dating money further back than the window: the chairperson asks, a second officer approves
through their own login, and the approval is in force for 7 days. Today is 30 Nov 2026."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from chama import authority
from chama.models import Notification
from chama.roles import Role
from finance.models import BackdatingApproval, Journal
from finance.services import backdating, dues
from tests.factories import ChamaFactory, joined
from tests.helpers import results, today_is

TODAY = date(2026, 11, 30)


@pytest.fixture(autouse=True)
def end_of_november(clock):
    today_is(TODAY)


@pytest.fixture
def umoja(db):
    chama = ChamaFactory(name="Umoja")
    people = {role: joined(chama, role) for role in (Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY, Role.MEMBER)}
    return chama, people


def ask(chama, people, earliest=date(2026, 9, 1)):
    return backdating.backdating_request(
        chama=chama, earliest_date=earliest, reason="Entering the paper books", by=people[Role.CHAIRPERSON].user
    )


def pay_on(chama, people, day):
    return dues.payment_record(
        membership=people[Role.MEMBER], amount="500", method="cash", by=people[Role.TREASURER].user, value_date=day
    )


def test_the_chairperson_asks_and_another_officer_approves_then_old_money_posts(umoja):
    chama, people = umoja
    approval = ask(chama, people)
    assert approval.status == BackdatingApproval.Status.PENDING
    # Every officer who may sign is told; the chairperson who asked is not.
    asked = set(Notification.objects.filter(kind=Notification.Kind.SIGNATURE).values_list("user", flat=True))
    assert asked == {people[Role.TREASURER].user.pk, people[Role.SECRETARY].user.pk}
    with pytest.raises(ValidationError, match="90 days back; the policy allows 31 days"):
        pay_on(chama, people, date(2026, 9, 1))  # not before it is approved

    backdating.backdating_approve(approval=approval, by=people[Role.SECRETARY].user)
    approval.refresh_from_db()

    assert (approval.status, approval.decided_by, approval.in_force) == (
        BackdatingApproval.Status.APPROVED,
        people[Role.SECRETARY].user,
        True,
    )
    assert approval.expires_date - approval.decided_date == timedelta(days=7)
    assert pay_on(chama, people, date(2026, 9, 1)).value_date == date(2026, 9, 1)
    with pytest.raises(ValidationError, match="The value date 2026-08-31 is 91 days back"):
        pay_on(chama, people, date(2026, 8, 31))


def test_the_chairperson_cannot_approve_their_own_request(umoja):
    chama, people = umoja
    approval = ask(chama, people)

    with pytest.raises(
        authority.Refused, match="You have already signed this backdating approval: a second officer must"
    ):
        backdating.backdating_approve(approval=approval, by=people[Role.CHAIRPERSON].user)

    assert BackdatingApproval.objects.get().status == BackdatingApproval.Status.PENDING


@pytest.mark.parametrize("role", [Role.TREASURER, Role.SECRETARY, Role.MEMBER])
def test_only_the_chairperson_asks(umoja, role):
    chama, people = umoja

    with pytest.raises(
        authority.Refused, match="Only the chairperson of Umoja may ask that money may be dated further back"
    ):
        backdating.backdating_request(
            chama=chama, earliest_date=date(2026, 9, 1), reason="Old slips", by=people[role].user
        )


def test_a_member_cannot_approve(umoja):
    chama, people = umoja
    approval = ask(chama, people)

    with pytest.raises(authority.Refused, match="may approve or reject dating money further back"):
        backdating.backdating_approve(approval=approval, by=people[Role.MEMBER].user)


def test_an_expired_or_rejected_approval_allows_nothing(umoja):
    chama, people = umoja
    expired = backdating.backdating_approve(approval=ask(chama, people), by=people[Role.TREASURER].user)
    # Eight days later (the approval is in force for seven):
    BackdatingApproval.objects.filter(pk=expired.pk).update(expires_date=timezone.now() - timedelta(seconds=1))
    rejected = backdating.backdating_reject(
        approval=ask(chama, people), by=people[Role.TREASURER].user, reason="No slips"
    )

    with pytest.raises(ValidationError, match="90 days back"):
        pay_on(chama, people, date(2026, 9, 1))
    expired.refresh_from_db()
    assert (expired.state, rejected.status, rejected.rejection_reason) == ("Expired", "rejected", "No slips")
    with pytest.raises(ValidationError, match="already rejected"):
        backdating.backdating_approve(approval=rejected, by=people[Role.SECRETARY].user)


@pytest.mark.parametrize(
    ("earliest", "message"),
    [
        (
            date(2026, 11, 1),
            "2026-11-01 is within the policy's 31 days: money may be dated that far back without approval.",
        ),
        (
            date(2026, 12, 1),
            "The value date 2026-12-01 is in the future: today is 2026-11-30 in Umoja's time zone (Africa/Nairobi).",
        ),
        (date(2024, 12, 31), "The value date 2024-12-31 is before Umoja started (2025-01-01)."),
    ],
)
def test_asking_for_what_needs_no_approval_or_could_never_be_is_refused(umoja, earliest, message):
    chama, people = umoja

    with pytest.raises(ValidationError) as refused:
        ask(chama, people, earliest)

    assert refused.value.message_dict == {"earliest_date": [message]}


# --- the API -----------------------------------------------------------------------------------------


def test_the_api_asks_lists_approves_and_refuses_self_approval(umoja, api_as):
    chama, people = umoja
    url = f"/api/v1/chamas/{chama.pk}/backdating-approvals/"
    chair, treasurer = api_as(people[Role.CHAIRPERSON].user), api_as(people[Role.TREASURER].user)

    refused = treasurer.post(url, {"earliest_date": "2026-09-01", "reason": "Old slips"}, format="json")
    assert refused.status_code == 403
    asked = chair.post(url, {"earliest_date": "2026-09-01", "reason": "Entering the paper books"}, format="json")
    assert asked.status_code == 201, asked.content
    body = asked.json()
    assert (body["status"], body["in_force"], body["requested_by"], body["earliest_date"]) == (
        "pending",
        False,
        people[Role.CHAIRPERSON].user.get_full_name(),
        "2026-09-01",
    )
    assert chair.post(f"{url}{body['id']}/approve/").status_code == 403  # not the one who asked

    approved = treasurer.post(f"{url}{body['id']}/approve/")

    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["in_force"]) == ("approved", True)
    assert [row["id"] for row in results(api_as(people[Role.SECRETARY].user).get(url))] == [body["id"]]
    assert api_as(people[Role.MEMBER].user).get(url).status_code == 403
    posted = treasurer.post(
        f"/api/v1/chamas/{chama.pk}/payments/",
        {"membership": people[Role.MEMBER].pk, "amount": "500", "method": "cash", "value_date": "2026-09-01"},
        format="json",
    )
    assert posted.status_code == 201


def test_the_api_refuses_a_bad_earliest_date_on_its_field(umoja, api_as):
    chama, people = umoja
    url = f"/api/v1/chamas/{chama.pk}/backdating-approvals/"
    chair = api_as(people[Role.CHAIRPERSON].user)

    for day, message in (
        ("0001-01-01", "Give a date between 1900-01-01 and 2200-12-31."),
        ("2026-11-20", "2026-11-20 is within the policy's 31 days: money may be dated that far back without approval."),
    ):
        response = chair.post(url, {"earliest_date": day, "reason": "Old slips"}, format="json")
        assert (response.status_code, response.json()) == (400, {"earliest_date": [message]})


def test_the_api_rejects_with_a_reason(umoja, api_as):
    chama, people = umoja
    approval = ask(chama, people)

    response = api_as(people[Role.SECRETARY].user).post(
        f"/api/v1/chamas/{chama.pk}/backdating-approvals/{approval.pk}/reject/",
        {"reason": "No slips to show"},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["rejection_reason"]) == ("rejected", "No slips to show")


# --- the back office ----------------------------------------------------------------------------------


def test_the_chairperson_asks_in_the_admin_and_the_treasurer_approves_with_the_action(umoja, client):
    chama, people = umoja
    client.force_login(people[Role.CHAIRPERSON].user)
    add = reverse("admin:finance_backdatingapproval_add")

    too_recent = client.post(add, {"chama": chama.pk, "earliest_date": "2026-11-20", "reason": "Old slips"})
    assert too_recent.status_code == 200
    assert too_recent.context["adminform"].form.errors == {
        "earliest_date": [
            "2026-11-20 is within the policy's 31 days: money may be dated that far back without approval."
        ]
    }
    off = client.post(add, {"chama": chama.pk, "earliest_date": "0001-01-01", "reason": "Old slips"})
    assert off.context["adminform"].form.errors == {"earliest_date": ["Give a date between 1900-01-01 and 2200-12-31."]}

    asked = client.post(add, {"chama": chama.pk, "earliest_date": "2026-09-01", "reason": "Entering the paper books"})
    assert asked.status_code == 302
    approval = BackdatingApproval.objects.get()
    assert (approval.requested_by, approval.status) == (people[Role.CHAIRPERSON].user, "pending")

    changelist = reverse("admin:finance_backdatingapproval_changelist")
    client.post(
        changelist, {"action": "approve", "_selected_action": [approval.pk], "index": "0"}
    )  # the chair: refused
    approval.refresh_from_db()
    assert approval.status == "pending"

    client.force_login(people[Role.TREASURER].user)
    assert client.get(add).status_code == 403  # only the chairperson asks
    client.post(changelist, {"action": "approve", "_selected_action": [approval.pk], "index": "0"})
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == ("approved", people[Role.TREASURER].user)
    page = client.get(reverse("admin:finance_backdatingapproval_change", args=[approval.pk]))
    assert page.status_code == 200 and "Entering the paper books" in page.content.decode()
    assert not Journal.objects.exists()
