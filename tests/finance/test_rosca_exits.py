"""A member leaving a running merry-go-round, worked by hand. test_rosca_payouts.py's Tujenge: five
members pay KES 2,000 a month; the roster is Wanjiku, Otieno, Akinyi, the secretary, the treasurer
(rounds 1 to 5 on the 15th from January 2027); a pot of KES 10,000."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from chama import authority
from chama.models import Notification
from chama.roles import Role
from finance.models import Due, Journal, RoscaExit
from finance.services import dues as dues_service
from finance.services import reconcile, rosca, rosca_exits
from tests.factories import joined
from tests.finance.test_rosca_payouts import cash, merry_go_round, pot, round_paid_in
from tests.helpers import today_is

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]


def paid_out(chama, month):
    round_paid_in(chama, month)
    return rosca.round_payout(cycle=chama.cycle, position=month, method="cash", by=chama.treasurer.user)


def leaves(chama, membership, *, approver, reason="Moved to Mombasa"):
    row = rosca_exits.exit_request(cycle=chama.cycle, membership=membership, by=chama.treasurer.user, reason=reason)
    return rosca_exits.exit_approve(exit=row, by=approver)


def test_a_member_who_received_owes_every_round_still_to_come_and_the_later_pots_stay_whole():
    chama = merry_go_round()
    wanjiku = chama.members[0]
    paid_out(chama, 1)  # Wanjiku receives 10,000
    paid_out(chama, 2)
    today_is(date(2027, 2, 20))

    row = rosca_exits.exit_request(cycle=chama.cycle, membership=wanjiku, by=chama.treasurer.user, reason="Moved")
    assert (row.kind, row.status, row.position) == ("received", "pending", 1)
    with pytest.raises(authority.Refused):
        rosca_exits.exit_approve(exit=row, by=chama.treasurer.user)  # not the officer who recorded it
    row = rosca_exits.exit_approve(exit=row, by=chama.secretary.user)

    # Rounds 3, 4 and 5 raised for her at once: 3 × 2,000 (round 2 she has paid).
    assert (row.status, row.amount) == ("approved", D("6000.00"))
    hers = Due.objects.filter(membership=wanjiku, plan=chama.cycle.plan).order_by("period_start")
    assert [(d.period_label, d.status) for d in hers] == [
        ("2027-01", "paid"),
        ("2027-02", "paid"),
        ("2027-03", "pending"),
        ("2027-04", "pending"),
        ("2027-05", "pending"),
    ]
    told = Notification.objects.get(user=wanjiku.user, dedupe_key=f"rosca-exit-{row.pk}")
    assert "you owe KES 6,000.00 for the rounds still to come" in told.body
    # March: everyone's dues raised once (hers were already), all paid: the pot is whole.
    round_paid_in(chama, 3)
    assert Due.objects.filter(membership=wanjiku, plan=chama.cycle.plan).count() == 5
    payout = rosca.round_payout(cycle=chama.cycle, position=3, method="cash", by=chama.treasurer.user)
    assert payout.amount == D("10000.00")


def test_a_member_who_had_not_received_is_paid_back_by_those_who_received_their_money():
    chama = merry_go_round()
    wanjiku, otieno, akinyi = chama.members
    secretary = chama.secretary
    paid_out(chama, 1)  # Wanjiku
    paid_out(chama, 2)  # Otieno
    round_paid_in(chama, 3)  # the secretary pays round 3 too: 6,000 paid in, nothing received
    today_is(date(2027, 3, 16))
    chair = joined(chama, Role.CHAIRPERSON)  # elected in March: not on the roster, the second officer

    row = leaves(chama, secretary, approver=chair.user)

    assert (row.kind, row.amount) == ("waiting", D("6000.00"))
    levies = Due.objects.filter(plan=chama.cycle.plan, period_label=row.levy_label).order_by("membership_id")
    assert [(d.membership, d.amount, d.kind) for d in levies] == [
        (wanjiku, D("2000.00"), "levy"),
        (otieno, D("2000.00"), "levy"),
    ]
    assert {d.due_date for d in levies} == {date(2027, 3, 16)}  # by the next round: round 3's day has come
    # The roster closes the gap: the treasurer moves from round 5 to 4; four rounds now.
    chama.cycle.refresh_from_db()
    assert [(s.position, s.membership) for s in chama.cycle.slots.order_by("position")] == [
        (1, wanjiku),
        (2, otieno),
        (3, akinyi),
        (4, chama.treasurer),
    ]
    assert chama.cycle.plan.end_date == date(2027, 4, 15)
    # Round 3 pays what the four still on the roster paid; the secretary's 2,000 waits in the pot.
    round_three = rosca.round_payout(cycle=chama.cycle, position=3, method="cash", by=chama.treasurer.user)
    assert (round_three.amount, round_three.membership, pot(chama)) == (D("8000.00"), akinyi, D("2000.00"))

    refund = rosca_exits.exit_refund(exit=row, method="cash", by=chama.treasurer.user)
    assert (refund.kind, refund.amount, refund.membership) == (Journal.Kind.ROSCA_PAYOUT, D("2000.00"), secretary)
    assert pot(chama) == D("0.00")
    with pytest.raises(ValidationError, match="Nothing has come in for .* yet \\(KES 4,000.00 still to pay back"):
        rosca_exits.exit_refund(exit=row, method="cash", by=chama.treasurer.user)

    dues_service.payment_record(membership=wanjiku, amount=D("2000"), method="cash", by=chama.treasurer.user)
    assert rosca_exits.refund_available(RoscaExit.objects.get(pk=row.pk)) == D("2000.00")
    rosca_exits.exit_refund(exit=row, method="cash", by=chama.treasurer.user)
    dues_service.payment_record(membership=otieno, amount=D("2000"), method="cash", by=chama.treasurer.user)
    rosca_exits.exit_refund(exit=row, method="cash", by=chama.treasurer.user)
    row.refresh_from_db()
    assert row.refunded == D("6000.00") == row.amount
    with pytest.raises(ValidationError, match="has been paid back in full"):
        rosca_exits.exit_refund(exit=row, method="cash", by=chama.treasurer.user)

    # April: the last round, the treasurer's; no due is raised for the secretary any more.
    round_paid_in(chama, 4, except_=[secretary])
    assert not Due.objects.filter(membership=secretary, plan=chama.cycle.plan, period_label="2027-04").exists()
    assert pot(chama) == D("8000.00")  # the treasurer's pot: four members' 2,000
    # In: 5 × 2,000 × 3 rounds + 4 × 2,000 + levies 4,000 = 42,000; out: 10,000 + 10,000 + 8,000 + 6,000.
    assert cash(chama) == D("8000.00")
    assert reconcile.all_drift(chama) == [] and reconcile.unbalanced_journal_ids(chama) == []


def test_an_exit_is_refused_with_a_reason_for_itself_twice_or_for_someone_off_the_roster():
    chama = merry_go_round()
    with pytest.raises(ValidationError, match="Say why"):
        rosca_exits.exit_request(cycle=chama.cycle, membership=chama.members[0], by=chama.treasurer.user, reason=" ")
    with pytest.raises(authority.Refused, match="for themselves"):
        rosca_exits.exit_request(
            cycle=chama.cycle, membership=chama.treasurer, by=chama.treasurer.user, reason="Leaving"
        )
    rosca_exits.exit_request(cycle=chama.cycle, membership=chama.members[0], by=chama.treasurer.user, reason="x")
    with pytest.raises(ValidationError, match="already recorded"):
        rosca_exits.exit_request(cycle=chama.cycle, membership=chama.members[0], by=chama.treasurer.user, reason="y")


def test_an_exit_through_the_api_and_the_back_office(api_as, client):
    chama = merry_go_round()
    secretary = chama.secretary
    paid_out(chama, 1)
    round_paid_in(chama, 2)  # the secretary's 2,000 for round 2 waits in the pot
    today_is(date(2027, 2, 16))
    chair = joined(chama, Role.CHAIRPERSON)
    cycle_url = f"/api/v1/chamas/{chama.pk}/rosca-cycles/{chama.cycle.pk}/exit/"
    exits = f"/api/v1/chamas/{chama.pk}/rosca-exits/"

    assert api_as(secretary.user).post(cycle_url, {"membership": secretary.pk, "reason": "x"}).status_code == 403
    bad = api_as(chama.treasurer.user).post(cycle_url, {"membership": secretary.pk, "reason": ""}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()
    asked = api_as(chama.treasurer.user).post(
        cycle_url, {"membership": secretary.pk, "reason": "Moved to Kisumu"}, format="json"
    )
    assert asked.status_code == 201, asked.content
    assert asked.json()["kind"] == "waiting" and chair.user.get_full_name() in asked.json()["awaiting_signature_from"]
    assert api_as(secretary.user).post(f"{exits}{asked.json()['id']}/approve/").status_code == 403

    client.force_login(chair.user)
    approved = client.post(
        reverse("admin:finance_roscaexit_changelist"),
        {"action": "approve", "_selected_action": [asked.json()["id"]]},
        follow=True,
    )
    assert "1 exit(s) approved." in [str(m) for m in approved.context["messages"]]
    mine = api_as(secretary.user).get(exits).json()["results"]
    assert [(row["status"], row["amount"]) for row in mine] == [("approved", "4000.00")]

    refund = api_as(chama.treasurer.user).post(f"{exits}{asked.json()['id']}/refund/", {"method": "cash"})
    assert refund.status_code == 201, refund.content
    assert refund.json()["amount"] == "2000.00"  # round 2's, from the pot; Wanjiku's levy is still to come
    again = api_as(chama.treasurer.user).post(f"{exits}{asked.json()['id']}/refund/", {"method": "cash"})
    assert again.status_code == 400 and "Nothing has come in" in str(again.json())
