"""Merry-go-round payouts: a round's pot to its recipient in the roster's order, whole or (by the
cycle's rule) what was collected, two officers above the threshold and never the recipient, and the
cycle's end. Amounts worked by hand: five members × KES 2,000 = a pot of KES 10,000 a round."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from chama import authority
from chama.models import Notification
from chama.roles import Role
from finance.models import Account, ContributionPlan, Journal, RoscaCycle, RoscaPayout
from finance.services import dues as dues_service
from finance.services import ledger, reconcile, rosca
from tests.factories import ChamaFactory, joined
from tests.helpers import today_is

pytestmark = pytest.mark.usefixtures("clock")
A = Account.Purpose


def merry_go_round(threshold="50000", rule="full"):
    """Tujenge: the treasurer, the secretary and three members; the roster by agreement, the
    members first (Wanjiku, Otieno, Akinyi), then the secretary, then the treasurer; monthly from
    15 January 2027, started."""
    chama = ChamaFactory(kind="rosca", policy={"grace_days": 2, "second_approval_threshold": D(threshold)})
    chama.treasurer = joined(chama, Role.TREASURER)
    chama.secretary = joined(chama, Role.SECRETARY)
    chama.members = [joined(chama) for _ in range(3)]
    chama.cycle = rosca.cycle_create(
        chama=chama,
        name="2027",
        contribution=D("2000"),
        start_date=date(2027, 1, 15),
        by=chama.treasurer.user,
        roster_method="agreement",
        payout_rule=rule,
    )
    order = [*chama.members, chama.secretary, chama.treasurer]
    rosca.roster_set(cycle=chama.cycle, membership_ids=[m.pk for m in order], by=chama.treasurer.user)
    rosca.cycle_start(cycle=chama.cycle, by=chama.treasurer.user)
    chama.cycle.refresh_from_db()
    chama.order = order
    return chama


def round_paid_in(chama, month, *, except_=()):
    """Round `month` raised, and paid by everyone but `except_`."""
    today_is(date(2027, month, 15))
    dues_service.generate_dues(period=(2027, month), chama=chama)
    for member in chama.order:
        if member not in except_:
            dues_service.payment_record(membership=member, amount=D("2000"), method="cash", by=chama.treasurer.user)


def pot(chama):
    return ledger.chama_account(chama, A.ROSCA_POT).normal_balance


def cash(chama):
    return ledger.chama_account(chama, A.CASH).normal_balance


@pytest.mark.django_db
def test_a_fully_paid_round_pays_the_whole_pot_to_its_recipient():
    chama = merry_go_round()
    round_paid_in(chama, 1)
    assert (pot(chama), cash(chama)) == (D("10000.00"), D("10000.00"))

    payout = rosca.round_payout(cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user)

    wanjiku = chama.members[0]
    assert (payout.status, payout.amount, payout.shortfall, payout.membership) == ("paid", D("10000.00"), 0, wanjiku)
    assert (pot(chama), cash(chama)) == (D("0.00"), D("0.00"))  # Dr pot 10,000, Cr cash 10,000
    journal = payout.journal
    assert (journal.kind, journal.membership, journal.amount) == (Journal.Kind.ROSCA_PAYOUT, wanjiku, D("10000.00"))
    told = Notification.objects.get(user=wanjiku.user, dedupe_key=f"rosca-payout-{payout.pk}")
    assert told.title == f"{chama}: KES 10,000.00 paid to you"
    assert reconcile.all_drift(chama) == [] and reconcile.unbalanced_journal_ids(chama) == []


@pytest.mark.django_db
def test_a_round_not_fully_paid_waits_unless_the_cycle_pays_what_was_collected():
    chama = merry_go_round()
    otieno = chama.members[1]
    round_paid_in(chama, 1, except_=[otieno])
    with pytest.raises(
        ValidationError, match=rf"Round 1 is not fully paid: still owed by {otieno.member_number} \(KES 2,000.00\)"
    ):
        rosca.round_payout(cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user)

    collected = merry_go_round(rule="collected")
    round_paid_in(collected, 1, except_=[collected.members[1]])
    payout = rosca.round_payout(cycle=collected.cycle, position=1, method="cash", by=collected.treasurer.user)
    assert (payout.amount, payout.shortfall) == (D("8000.00"), D("2000.00"))
    assert pot(collected) == D("0.00")
    # Otieno still owes the round, like any due.
    assert collected.members[1].dues.get().outstanding == D("2000.00")


@pytest.mark.django_db
def test_rounds_are_paid_in_order_on_their_day_and_once():
    chama = merry_go_round()
    round_paid_in(chama, 1)
    today_is(date(2027, 1, 14))
    with pytest.raises(ValidationError, match="Round 1 is on 15 Jan 2027: it cannot be paid before."):
        rosca.round_payout(cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user)
    round_paid_in(chama, 2)
    with pytest.raises(ValidationError, match="Pay round 1 first"):
        rosca.round_payout(cycle=chama.cycle, position=2, method="cash", by=chama.treasurer.user)
    rosca.round_payout(cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user)
    with pytest.raises(ValidationError, match="Round 1 is already paid"):
        rosca.round_payout(cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user)
    with pytest.raises(ValidationError, match="has rounds 1 to 5"):
        rosca.round_payout(cycle=chama.cycle, position=6, method="cash", by=chama.treasurer.user)
    with pytest.raises(ValidationError, match="Unknown payment method"):
        rosca.round_payout(cycle=chama.cycle, position=2, method="gold", by=chama.treasurer.user)
    # The pot was paid in cash: M-Pesa holds nothing to pay round 2 from.
    with pytest.raises(ValidationError, match="Not enough in M-Pesa"):
        rosca.round_payout(cycle=chama.cycle, position=2, method="mpesa", by=chama.treasurer.user)
    assert not RoscaPayout.objects.filter(slot__position=2).exists()


@pytest.mark.django_db
def test_above_the_threshold_a_second_officer_approves_and_never_the_recipient():
    chama = merry_go_round(threshold="5000")
    round_paid_in(chama, 1)
    payout = rosca.round_payout(cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user)
    assert payout.status == RoscaPayout.Status.PENDING and payout.journal is None
    assert pot(chama) == D("10000.00")

    with pytest.raises(authority.Refused):
        rosca.payout_approve(payout=payout, by=chama.treasurer.user)  # the officer who asked
    with pytest.raises(authority.Refused):
        rosca.payout_approve(payout=payout, by=chama.members[0].user)  # the recipient, a plain member
    approved = rosca.payout_approve(payout=payout, by=chama.secretary.user)
    assert (approved.status, approved.approved_by) == ("paid", chama.secretary.user)
    assert (pot(chama), cash(chama)) == (D("0.00"), D("0.00"))


@pytest.mark.django_db
def test_a_rejected_payout_can_be_asked_again():
    chama = merry_go_round(threshold="5000")
    round_paid_in(chama, 1)
    payout = rosca.round_payout(cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user)
    with pytest.raises(ValidationError, match="Say why"):
        rosca.payout_reject(payout=payout, by=chama.secretary.user, reason=" ")
    rosca.payout_reject(payout=payout, by=chama.secretary.user, reason="Pay by M-Pesa")
    again = rosca.round_payout(cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user)
    assert again.status == RoscaPayout.Status.PENDING


@pytest.mark.django_db
def test_the_last_round_ends_the_cycle_and_its_dues():
    chama = merry_go_round()
    for month in range(1, 6):
        round_paid_in(chama, month)
        recipient_is_treasurer = chama.order[month - 1] == chama.treasurer
        by = chama.secretary.user if recipient_is_treasurer else chama.treasurer.user
        if recipient_is_treasurer:
            # The secretary may not record money (pay_rosca is the treasurer's and chairperson's).
            with pytest.raises(authority.Refused):
                rosca.round_payout(cycle=chama.cycle, position=month, method="cash", by=by)
            by = joined(chama, Role.CHAIRPERSON).user
        rosca.round_payout(cycle=chama.cycle, position=month, method="cash", by=by)
    chama.cycle.refresh_from_db()
    assert chama.cycle.status == RoscaCycle.Status.COMPLETED
    assert ContributionPlan.objects.get(pk=chama.cycle.plan_id).is_active is False
    assert (pot(chama), cash(chama)) == (D("0.00"), D("0.00"))
    # Each member paid 5 × 2,000 and received 10,000 once.
    for member in chama.order:
        received = sum(j.amount for j in Journal.objects.filter(membership=member, kind=Journal.Kind.ROSCA_PAYOUT))
        assert received == D("10000.00")


@pytest.mark.django_db
def test_a_payout_made_earlier_is_dated_the_day_it_was_made():
    chama = merry_go_round()
    round_paid_in(chama, 1)
    today_is(date(2027, 1, 25))
    with pytest.raises(ValidationError, match="Round 1 is on 15 Jan 2027: it cannot be paid before."):
        rosca.round_payout(
            cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user, value_date=date(2027, 1, 14)
        )
    payout = rosca.round_payout(
        cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user, value_date=date(2027, 1, 20)
    )
    assert payout.value_date == payout.journal.value_date == date(2027, 1, 20)


@pytest.mark.django_db
def test_two_days_before_a_round_its_recipient_and_the_members_behind_are_reminded_once():
    chama = merry_go_round()
    wanjiku, otieno, akinyi = chama.members
    today_is(date(2027, 1, 12))
    dues_service.generate_dues(period=(2027, 1), chama=chama)
    for member in (otieno, akinyi):
        dues_service.payment_record(membership=member, amount=D("2000"), method="cash", by=chama.treasurer.user)
    assert rosca.send_round_reminders(chama=chama) == 0  # three days before: not yet

    today_is(date(2027, 1, 13))
    assert rosca.send_round_reminders(chama=chama) == 4  # Wanjiku's pot; Wanjiku, the secretary, the treasurer owe
    assert rosca.send_round_reminders(chama=chama) == 0  # once per round
    pot = Notification.objects.get(user=wanjiku.user, dedupe_key__endswith="recipient")
    assert pot.title == f"{chama}: you receive the pot on 15 Jan"
    owed = Notification.objects.get(user=chama.secretary.user, dedupe_key__contains="-owe-")
    assert owed.title == f"{chama}: KES 2,000.00 due by 15 Jan"
    assert f"towards {wanjiku.user.get_full_name()}'s pot" in owed.body
    assert not Notification.objects.filter(user=otieno.user, dedupe_key__contains="-owe-").exists()


@pytest.mark.django_db
def test_a_round_paid_out_short_is_topped_up_with_what_the_member_behind_pays_late():
    chama = merry_go_round(rule="collected", threshold="1000")
    otieno, wanjiku = chama.members[1], chama.members[0]
    treasurer, secretary = chama.treasurer.user, chama.secretary.user
    round_paid_in(chama, 1, except_=[otieno])
    first = rosca.round_payout(cycle=chama.cycle, position=1, method="cash", by=treasurer)
    rosca.payout_approve(payout=first, by=secretary)
    with pytest.raises(ValidationError, match="Nothing more has been paid into round 1 since it was paid out"):
        rosca.round_top_up(cycle=chama.cycle, position=1, method="cash", by=treasurer)
    assert rosca.rounds_to_top_up(chama.cycle) == []

    today_is(date(2027, 1, 25))  # Otieno pays half his round late: the pot holds it for Wanjiku
    dues_service.payment_record(membership=otieno, amount=D("1000"), method="cash", by=treasurer)
    assert pot(chama) == D("1000.00")
    assert rosca.rounds_to_top_up(chama.cycle) == [1]
    with pytest.raises(ValidationError, match="Round 2 has not been paid out"):
        rosca.round_top_up(cycle=chama.cycle, position=2, method="cash", by=treasurer)

    top_up = rosca.round_top_up(cycle=chama.cycle, position=1, method="cash", by=treasurer)
    assert (top_up.status, top_up.amount, top_up.shortfall, top_up.top_up_of) == (
        "pending",  # 8,000 + 1,000 to her for the round: above the threshold, a second officer
        D("1000.00"),
        D("1000.00"),
        first,
    )
    with pytest.raises(ValidationError, match="Nothing more has been paid into round 1"):
        rosca.round_top_up(cycle=chama.cycle, position=1, method="cash", by=treasurer)  # not twice while pending
    rosca.payout_approve(payout=top_up, by=secretary)
    top_up.refresh_from_db()
    assert top_up.status == "paid" and top_up.journal.memo.startswith("2027: round 1 late contributions")
    assert pot(chama) == D("0.00")
    paid = Journal.objects.filter(chama=chama, kind=Journal.Kind.ROSCA_PAYOUT, membership=wanjiku)
    assert sorted(j.amount for j in paid) == [D("1000.00"), D("8000.00")]
    assert rosca.next_position(chama.cycle) == 2  # a top-up is not a round of its own
    assert reconcile.all_drift(chama) == []


@pytest.mark.django_db
def test_a_recipient_late_with_later_rounds_is_flagged_and_recovered_from_their_savings():
    from finance.selectors.rosca import rosca_board
    from finance.services import savings

    chama = merry_go_round(rule="collected")
    wanjiku = chama.members[0]
    savings.savings_deposit(membership=wanjiku, amount=D("1500"), method="cash", by=chama.treasurer.user)
    round_paid_in(chama, 1)
    rosca.round_payout(cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user)
    round_paid_in(chama, 2, except_=[wanjiku])  # she has received, and stops paying
    with pytest.raises(ValidationError, match="is not late"):
        rosca.recover_round_arrears(cycle=chama.cycle, membership=wanjiku, by=chama.treasurer.user)
    today_is(date(2027, 2, 25))
    dues_service.apply_penalties(as_of=date(2027, 2, 25), chama=chama)
    rows = {row["membership"]: row for row in rosca_board(cycle=chama.cycle)["rows"]}
    assert rows[wanjiku]["late_after_receiving"] and not rows[chama.members[1]]["late_after_receiving"]
    with pytest.raises(ValidationError, match="Only a member who has received"):
        rosca.recover_round_arrears(cycle=chama.cycle, membership=chama.members[1], by=chama.treasurer.user)

    journal = rosca.recover_round_arrears(cycle=chama.cycle, membership=wanjiku, by=chama.treasurer.user)

    # She owes 2,000 for round 2 and has 1,500 saved: all of it goes to the pot; 500 still owed.
    assert journal.amount == D("1500.00") and pot(chama) == D("9500.00")
    due = wanjiku.dues.get(plan=chama.cycle.plan, period_label="2027-02")
    assert (due.paid_amount, due.outstanding) == (D("1500.00"), D("500.00"))
    with pytest.raises(ValidationError, match="no savings to recover from"):
        rosca.recover_round_arrears(cycle=chama.cycle, membership=wanjiku, by=chama.treasurer.user)
    assert reconcile.all_drift(chama) == []
