"""Dues, payments, advances, fines and waivers against amounts worked out by hand."""

from datetime import date
from decimal import Decimal as D

import pytest

from chama import authority
from chama.roles import Role
from finance.models import Account, Due, Journal
from finance.selectors.ledger import trial_balance
from finance.services import dues as dues_service
from finance.services.reconcile import all_drift
from tests.factories import ChamaFactory, joined
from tests.helpers import today_is

# Money here is recorded on the day it is dated: each step moves the chama's clock to its day.
pytestmark = pytest.mark.usefixtures("clock")

A = Account.Purpose


@pytest.fixture
def setup(db):
    """A monthly chama: KES 1,000 due on the 5th, 3 grace days, flat KES 100 late fine once."""
    chama = ChamaFactory(
        policy={
            "contribution_amount": D("1000"),
            "contribution_frequency": "monthly",
            "contribution_due_day": 5,
            "grace_days": 3,
            "late_fine_amount": D("100"),
            "second_approval_threshold": D("500"),
        }
    )
    treasurer = joined(chama, Role.TREASURER).user
    chair = joined(chama, Role.CHAIRPERSON).user
    wanjiku = joined(chama, Role.MEMBER)
    plan = dues_service.contribution_plan_from_policy(chama, start_date=date(2026, 8, 1))
    return chama, treasurer, chair, wanjiku, plan


def balance(membership, purpose):
    account = Account.objects.filter(membership=membership, purpose=purpose).first()
    return account.normal_balance if account else D("0.00")


def cash(chama, purpose=A.CASH):
    return Account.objects.get(chama=chama, purpose=purpose).normal_balance


def member_dues(membership):
    return list(Due.objects.filter(membership=membership).order_by("due_date", "id"))


def test_dues_are_raised_once_per_member_and_period(setup):
    chama, *_ = setup
    first = dues_service.generate_dues(period=(2026, 9))
    again = dues_service.generate_dues(period=(2026, 9))

    assert [row[3] for row in first] == [3]  # treasurer, chairperson, Wanjiku
    assert [row[3] for row in again] == [0]
    due = Due.objects.filter(chama=chama).first()
    assert (due.period_label, due.due_date, due.late_after, due.amount) == (
        "2026-09",
        date(2026, 9, 5),
        date(2026, 9, 8),
        D("1000.00"),
    )


def test_payment_settles_oldest_dues_first_and_keeps_the_rest_as_advance(setup):
    chama, treasurer, _, wanjiku, _ = setup
    dues_service.generate_dues(period=(2026, 9))
    dues_service.generate_dues(period=(2026, 10))

    dues_service.payment_record(membership=wanjiku, amount="1500", method="cash", by=treasurer)
    september, october = member_dues(wanjiku)
    assert (september.paid_amount, september.status) == (D("1000.00"), Due.Status.PAID)
    # October was due on the 5th: half paid and late (today is past its grace), it stays overdue.
    assert (october.paid_amount, october.status, october.outstanding) == (D("500.00"), Due.Status.OVERDUE, D("500.00"))

    dues_service.payment_record(membership=wanjiku, amount="800", method="mpesa", by=treasurer)
    october.refresh_from_db()
    assert october.status == Due.Status.PAID
    # 1,500 + 800 = 2,300 paid; 2,000 saved against two months, 300 held as an advance.
    assert balance(wanjiku, A.MEMBER_SAVINGS) == D("2000.00")
    assert balance(wanjiku, A.MEMBER_ADVANCE) == D("300.00")
    assert cash(chama) == D("1500.00")
    assert cash(chama, A.MOBILE_MONEY) == D("800.00")

    # November's due is raised: the 300 advance settles part of it at once.
    dues_service.generate_dues(period=(2026, 11))
    november = member_dues(wanjiku)[2]
    assert (november.paid_amount, november.outstanding) == (D("300.00"), D("700.00"))
    assert balance(wanjiku, A.MEMBER_ADVANCE) == D("0.00")
    assert balance(wanjiku, A.MEMBER_SAVINGS) == D("2300.00")
    rows, debit, credit = trial_balance(chama=chama)
    assert debit == credit == D("2300.00")
    assert all_drift(chama) == []


def test_late_fines_are_charged_once_and_paid_like_dues(setup):
    chama, treasurer, _, wanjiku, _ = setup
    dues_service.generate_dues(period=(2026, 9))

    # Due 5 Sep, grace to 8 Sep: on the 8th nobody is late yet.
    today_is(date(2026, 9, 8))
    assert dues_service.apply_penalties(as_of=date(2026, 9, 8))[0][1] == []
    today_is(date(2026, 9, 9))
    first = dues_service.apply_penalties(as_of=date(2026, 9, 9))
    today_is(date(2026, 9, 30))
    again = dues_service.apply_penalties(as_of=date(2026, 9, 30))

    assert len(first[0][1]) == 3 and again[0][1] == []
    fine = Due.objects.get(membership=wanjiku, kind=Due.Kind.FINE)
    assert (fine.amount, fine.fine_period) == (D("100.00"), 1)
    assert balance(wanjiku, A.FINES_RECEIVABLE) == D("100.00")
    assert Account.objects.get(chama=chama, purpose=A.FINE_INCOME).normal_balance == D("300.00")
    assert Due.objects.get(membership=wanjiku, kind=Due.Kind.CONTRIBUTION).status == Due.Status.OVERDUE

    # 1,100 pays the contribution (older) and then the fine.
    dues_service.payment_record(membership=wanjiku, amount="1100", method="cash", by=treasurer)
    assert {d.kind: d.status for d in member_dues(wanjiku)} == {"contribution": "paid", "fine": "paid"}
    assert balance(wanjiku, A.FINES_RECEIVABLE) == D("0.00")
    assert balance(wanjiku, A.MEMBER_SAVINGS) == D("1000.00")


def test_percentage_fines_every_period_late(setup):
    chama, *_ = setup
    policy = chama.policy
    policy.late_fine_kind, policy.late_fine_rate, policy.late_fine_recurrence = "percent", D("2.5"), "every_period"
    policy.save()
    dues_service.generate_dues(period=(2026, 9))

    # Late from 9 Sep; on 9 Nov it is in its third late month (9 Sep, 9 Oct, 9 Nov).
    today_is(date(2026, 10, 1))
    dues_service.apply_penalties(as_of=date(2026, 10, 1))
    today_is(date(2026, 11, 9))
    dues_service.apply_penalties(as_of=date(2026, 11, 9))
    dues_service.apply_penalties(as_of=date(2026, 11, 9))

    fines = Due.objects.filter(kind=Due.Kind.FINE, fine_for__membership__user__first_name__isnull=False).order_by(
        "fine_for", "fine_period"
    )
    per_due = {}
    for fine in fines:
        per_due.setdefault(fine.fine_for_id, []).append((fine.fine_period, fine.amount))
    # 2.5% of 1,000 outstanding = 25.00 for each of the three late periods, for each of 3 members.
    assert list(per_due.values()) == [[(1, D("25.00")), (2, D("25.00")), (3, D("25.00"))]] * 3


def test_small_waiver_applies_at_once_and_large_one_needs_a_second_officer(setup):
    chama, treasurer, chair, wanjiku, _ = setup
    dues_service.generate_dues(period=(2026, 9))
    today_is(date(2026, 9, 9))
    dues_service.apply_penalties(as_of=date(2026, 9, 9))
    fine = Due.objects.get(membership=wanjiku, kind=Due.Kind.FINE)
    contribution = Due.objects.get(membership=wanjiku, kind=Due.Kind.CONTRIBUTION)

    small = dues_service.waiver_request(due=fine, reason="Hospitalised", by=treasurer)
    fine.refresh_from_db()
    assert (small.status, fine.status, fine.waived_amount) == ("applied", Due.Status.WAIVED, D("100.00"))
    assert balance(wanjiku, A.FINES_RECEIVABLE) == D("0.00")
    assert Account.objects.get(chama=chama, purpose=A.FINE_INCOME).normal_balance == D("200.00")

    large = dues_service.waiver_request(due=contribution, reason="Bereavement", by=treasurer)  # 1,000 > 500 threshold
    assert large.status == "pending"
    with pytest.raises(authority.Refused, match="already signed this waiver"):
        dues_service.waiver_approve(waiver=large, by=treasurer)
    dues_service.waiver_approve(waiver=large, by=chair)
    contribution.refresh_from_db()
    assert (contribution.status, contribution.waived_amount) == (Due.Status.WAIVED, D("1000.00"))
    assert all_drift(chama) == []


def test_payment_replay_with_the_same_key_posts_once(setup):
    chama, treasurer, _, wanjiku, _ = setup
    first = dues_service.payment_record(
        membership=wanjiku, amount="700", method="cash", by=treasurer, idempotency_key="k-1"
    )
    second = dues_service.payment_record(
        membership=wanjiku, amount="700", method="cash", by=treasurer, idempotency_key="k-1"
    )

    assert first.pk == second.pk
    assert Journal.objects.filter(chama=chama).count() == 1
    assert cash(chama) == D("700.00")


def test_a_due_settled_by_a_waiver_and_a_payment_is_paid_on_every_database(setup):
    # 1,000 − 0.10 waived − 999.90 paid is zero; in floating point (SQLite) it is not, unless rounded.
    _, treasurer, _, wanjiku, _ = setup
    dues_service.generate_dues(period=(2026, 9))
    today_is(date(2026, 9, 20))  # after the grace days: an unsettled due would be overdue
    contribution = Due.objects.get(membership=wanjiku, kind=Due.Kind.CONTRIBUTION)
    dues_service.waiver_request(due=contribution, amount=D("0.10"), reason="Rounding", by=treasurer)
    dues_service.payment_record(membership=wanjiku, amount=D("999.90"), method="cash", by=treasurer)
    contribution.refresh_from_db()
    assert (contribution.status, contribution.outstanding) == (Due.Status.PAID, D("0.00"))
