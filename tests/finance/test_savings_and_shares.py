"""Savings deposits, withdrawal rules (minimum balance, notice, lock, maker–checker approvals,
rejection, payment) and share purchases, against amounts worked out by hand."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from chama import authority
from chama.roles import Role
from finance.models import Account, Entry, Journal, SavingsType, SharePurchase, Withdrawal
from finance.selectors import savings as savings_reads
from finance.services import ledger
from finance.services.dues import default_savings_type
from finance.services.reconcile import all_drift
from finance.services.savings import (
    savings_deposit,
    share_purchase,
    withdrawal_approve,
    withdrawal_pay,
    withdrawal_reject,
    withdrawal_request,
)
from groups.models import Chama, Membership
from tests.factories import ChamaFactory, joined
from tests.helpers import today_is

A = Account.Purpose
NOV_1 = date(2026, 11, 1)


def balance(membership, purpose):
    account = Account.objects.filter(membership=membership, purpose=purpose).first()
    return account.normal_balance if account else D("0.00")


def cash(chama, purpose=A.CASH):
    return Account.objects.get(chama=chama, purpose=purpose).normal_balance


def counts():
    return Journal.objects.count(), Entry.objects.count()


@pytest.fixture
def today(clock):
    """Pin the chama's "today" (`Chama.today`, the one clock every service reads); call it to move it."""
    today_is(NOV_1)
    return today_is


@pytest.fixture
def setup(db, today):
    """A VSLA: second officer above KES 5,000; shares at KES 250, 1 to 5 per meeting."""
    chama = ChamaFactory(
        name="Umoja",
        kind=Chama.Kind.VSLA,
        policy={
            "second_approval_threshold": D("5000"),
            "share_price": D("250"),
            "shares_min_per_meeting": 1,
            "shares_max_per_meeting": 5,
        },
    )
    treasurer = joined(chama, Role.TREASURER).user
    chair = joined(chama, Role.CHAIRPERSON).user
    secretary = joined(chama, Role.SECRETARY).user
    wanjiku = joined(chama, Role.MEMBER)
    return chama, treasurer, chair, secretary, wanjiku


@pytest.fixture(autouse=True)
def books_stay_reconciled(db):
    yield
    assert all_drift() == []


# --- deposits ---------------------------------------------------------------------------------


def test_deposit_posts_cash_against_the_members_savings(setup):
    chama, treasurer, _, _, wanjiku = setup

    journal = savings_deposit(membership=wanjiku, amount="2500", method="cash", by=treasurer)
    savings_deposit(membership=wanjiku, amount="1200.50", method="mpesa", by=treasurer)

    regular = default_savings_type(chama)
    assert (journal.kind, journal.amount, journal.value_date, journal.membership) == (
        Journal.Kind.SAVINGS_DEPOSIT,
        D("2500.00"),
        NOV_1,
        wanjiku,
    )
    entries = {e.account.purpose: e.amount for e in journal.entries.select_related("account")}
    assert entries == {A.CASH: D("2500.00"), A.MEMBER_SAVINGS: D("-2500.00")}
    # 2,500 + 1,200.50 = 3,700.50 saved; 2,500 in the cash box, 1,200.50 on M-Pesa.
    assert savings_reads.savings_balance(membership=wanjiku, savings_type=regular) == D("3700.50")
    assert (cash(chama), cash(chama, A.MOBILE_MONEY)) == (D("2500.00"), D("1200.50"))


@pytest.mark.parametrize("replay_by", ["reference", "idempotency_key"])
def test_a_replayed_deposit_returns_the_first_journal(setup, replay_by):
    chama, treasurer, _, _, wanjiku = setup
    key = {replay_by: "QK71XYZ789"}

    first = savings_deposit(membership=wanjiku, amount="1000", method="mpesa", by=treasurer, **key)
    before = counts()
    second = savings_deposit(membership=wanjiku, amount="1000", method="mpesa", by=treasurer, **key)

    assert second.pk == first.pk
    assert counts() == before
    # Saved once: 1,000, not 2,000.
    assert savings_reads.savings_balance(membership=wanjiku, savings_type=default_savings_type(chama)) == D("1000.00")
    assert cash(chama, A.MOBILE_MONEY) == D("1000.00")


@pytest.mark.parametrize(
    "amount, method, message",
    [
        ("0", "cash", "more than zero"),
        ("-50", "cash", "more than zero"),
        ("100", "bitcoin", "Unknown payment method"),
    ],
)
def test_a_deposit_of_nothing_or_by_an_unknown_method_is_refused(setup, amount, method, message):
    _, treasurer, _, _, wanjiku = setup

    with pytest.raises(ValidationError, match=message):
        savings_deposit(membership=wanjiku, amount=amount, method=method, by=treasurer)

    assert counts() == (0, 0)


# --- withdrawal rules -------------------------------------------------------------------------


def test_a_withdrawal_must_leave_the_minimum_balance(setup):
    chama, treasurer, _, _, wanjiku = setup
    fixed = SavingsType.objects.create(chama=chama, name="Holiday", code="HOL", minimum_balance=D("1000"))
    savings_deposit(membership=wanjiku, amount="5000", method="cash", by=treasurer, savings_type=fixed)

    # 5,000 held, 1,000 must stay: at most 4,000 can be withdrawn.
    with pytest.raises(ValidationError, match=r"hold 5,000\.00; at least 1,000\.00 must stay, so at most 4,000\.00"):
        withdrawal_request(membership=wanjiku, amount="4000.01", by=wanjiku.user, savings_type=fixed)
    assert Withdrawal.objects.count() == 0

    withdrawal = withdrawal_request(membership=wanjiku, amount="4000", by=wanjiku.user, savings_type=fixed)
    assert (withdrawal.status, withdrawal.amount, withdrawal.payable_from) == ("requested", D("4000.00"), NOV_1)


def test_a_withdrawal_of_more_than_is_saved_is_refused(setup):
    chama, treasurer, _, _, wanjiku = setup
    savings_deposit(membership=wanjiku, amount="800", method="cash", by=treasurer)

    with pytest.raises(ValidationError, match=r"at most 800\.00 can be withdrawn"):
        withdrawal_request(membership=wanjiku, amount="800.01", by=wanjiku.user)
    with pytest.raises(ValidationError, match="more than zero"):
        withdrawal_request(membership=wanjiku, amount="0", by=wanjiku.user)


def test_locked_savings_cannot_be_withdrawn_before_the_lock_ends(setup, today):
    chama, treasurer, _, _, wanjiku = setup
    fixed = SavingsType.objects.create(chama=chama, name="Fixed", code="FIX", locked_until=date(2026, 12, 31))
    savings_deposit(membership=wanjiku, amount="3000", method="cash", by=treasurer, savings_type=fixed)

    with pytest.raises(ValidationError, match="locked until 31 Dec 2026"):
        withdrawal_request(membership=wanjiku, amount="1000", by=wanjiku.user, savings_type=fixed)
    today(date(2026, 12, 30))
    with pytest.raises(ValidationError, match="locked until 31 Dec 2026"):
        withdrawal_request(membership=wanjiku, amount="1000", by=wanjiku.user, savings_type=fixed)

    today(date(2026, 12, 31))
    withdrawal = withdrawal_request(membership=wanjiku, amount="1000", by=wanjiku.user, savings_type=fixed)
    assert withdrawal.status == "requested"


def test_notice_days_set_payable_from_and_paying_earlier_is_refused(setup, today):
    chama, treasurer, chair, _, wanjiku = setup
    notice = SavingsType.objects.create(chama=chama, name="Notice", code="NOT", withdrawal_notice_days=14)
    savings_deposit(membership=wanjiku, amount="6000", method="cash", by=treasurer, savings_type=notice)

    withdrawal = withdrawal_request(membership=wanjiku, amount="2000", by=wanjiku.user, savings_type=notice)
    # Asked on 1 Nov with 14 days' notice: payable from 1 + 14 = 15 Nov.
    assert withdrawal.payable_from == date(2026, 11, 15)
    withdrawal_approve(withdrawal=withdrawal, by=chair)

    today(date(2026, 11, 14))
    with pytest.raises(ValidationError, match="notice period ends on 15 Nov 2026"):
        withdrawal_pay(withdrawal=withdrawal, method="cash", by=treasurer)
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.journal_id) == ("approved", None)
    assert savings_reads.savings_balance(membership=wanjiku, savings_type=notice) == D("6000.00")

    today(date(2026, 11, 15))
    withdrawal = withdrawal_pay(withdrawal=withdrawal, method="cash", by=treasurer)
    # 6,000 − 2,000 = 4,000 left; the cash box too.
    assert (withdrawal.status, withdrawal.journal.value_date) == ("paid", date(2026, 11, 15))
    assert savings_reads.savings_balance(membership=wanjiku, savings_type=notice) == D("4000.00")
    assert cash(chama) == D("4000.00")


def test_the_member_and_whoever_asked_cannot_approve(setup):
    chama, treasurer, chair, secretary, wanjiku = setup
    savings_deposit(membership=wanjiku, amount="3000", method="cash", by=treasurer)

    own = withdrawal_request(membership=wanjiku, amount="500", by=wanjiku.user)
    with pytest.raises(authority.Refused, match="Only the chairperson, treasurer or secretary of Umoja may approve"):
        withdrawal_approve(withdrawal=own, by=wanjiku.user)

    on_behalf = withdrawal_request(membership=wanjiku, amount="500", by=treasurer, reason="School fees")
    with pytest.raises(authority.Refused, match="already signed this withdrawal"):
        withdrawal_approve(withdrawal=on_behalf, by=treasurer)
    on_behalf = withdrawal_approve(withdrawal=on_behalf, by=secretary)
    assert (on_behalf.status, list(on_behalf.approvals.all())) == ("approved", [secretary])

    # An officer's own withdrawal: they cannot approve it, even when another officer asked for them.
    treasurer_membership = treasurer.memberships.get(chama=chama)
    savings_deposit(membership=treasurer_membership, amount="2000", method="cash", by=chair)
    theirs = withdrawal_request(membership=treasurer_membership, amount="700", by=chair)
    with pytest.raises(authority.Refused, match="approve or reject withdrawals for themselves"):
        withdrawal_approve(withdrawal=theirs, by=treasurer)
    with pytest.raises(authority.Refused, match="already signed this withdrawal"):
        withdrawal_approve(withdrawal=theirs, by=chair)
    assert withdrawal_approve(withdrawal=theirs, by=secretary).status == "approved"


def test_a_plain_member_cannot_ask_for_another_members_withdrawal(setup):
    chama, treasurer, _, _, wanjiku = setup
    savings_deposit(membership=wanjiku, amount="3000", method="cash", by=treasurer)
    neighbour = joined(chama, Role.MEMBER).user

    with pytest.raises(authority.Refused, match="may apply or ask on a member's behalf"):
        withdrawal_request(membership=wanjiku, amount="500", by=neighbour)
    assert Withdrawal.objects.count() == 0


def test_above_the_threshold_two_different_officers_approve(setup):
    chama, treasurer, chair, secretary, wanjiku = setup
    savings_deposit(membership=wanjiku, amount="12000", method="cash", by=treasurer)

    large = withdrawal_request(membership=wanjiku, amount="5000.01", by=wanjiku.user)  # > 5,000
    large = withdrawal_approve(withdrawal=large, by=chair)
    assert (large.status, large.approvals.count()) == ("requested", 1)
    with pytest.raises(authority.Refused, match="already signed this withdrawal"):
        withdrawal_approve(withdrawal=large, by=chair)
    with pytest.raises(ValidationError, match="Only an approved withdrawal can be paid"):
        withdrawal_pay(withdrawal=large, method="cash", by=treasurer)
    large = withdrawal_approve(withdrawal=large, by=secretary)
    assert (large.status, set(large.approvals.all())) == ("approved", {chair, secretary})

    # Exactly at the threshold one officer is enough (for a member with nothing else in the window).
    baraka = joined(chama, Role.MEMBER)
    savings_deposit(membership=baraka, amount="6000", method="cash", by=treasurer)
    at_threshold = withdrawal_request(membership=baraka, amount="5000", by=baraka.user)
    assert withdrawal_approve(withdrawal=at_threshold, by=treasurer).status == "approved"


def test_withdrawals_split_below_the_threshold_still_need_two_officers(setup):
    chama, treasurer, chair, secretary, wanjiku = setup
    savings_deposit(membership=wanjiku, amount="12000", method="cash", by=treasurer)

    # 3,000 + 3,000 = 6,000 for one member within 30 days: over the 5,000 threshold.
    first = withdrawal_approve(
        withdrawal=withdrawal_request(membership=wanjiku, amount="3000", by=wanjiku.user), by=chair
    )
    assert first.status == "approved"
    second = withdrawal_approve(
        withdrawal=withdrawal_request(membership=wanjiku, amount="3000", by=wanjiku.user), by=chair
    )
    assert (second.status, second.approvals.count()) == ("requested", 1)
    assert withdrawal_approve(withdrawal=second, by=secretary).status == "approved"


def test_a_rejected_withdrawal_cannot_be_approved_or_paid(setup):
    chama, treasurer, chair, secretary, wanjiku = setup
    savings_deposit(membership=wanjiku, amount="3000", method="cash", by=treasurer)
    withdrawal = withdrawal_request(membership=wanjiku, amount="1000", by=wanjiku.user)

    with pytest.raises(authority.Refused, match="may approve or reject withdrawals"):
        withdrawal_reject(withdrawal=withdrawal, by=wanjiku.user)
    withdrawal = withdrawal_reject(withdrawal=withdrawal, by=chair, reason="Loan outstanding")

    assert (withdrawal.status, withdrawal.decided_reason) == ("rejected", "Loan outstanding")
    with pytest.raises(ValidationError, match="already rejected"):
        withdrawal_approve(withdrawal=withdrawal, by=secretary)
    with pytest.raises(ValidationError, match="Only an approved withdrawal can be paid"):
        withdrawal_pay(withdrawal=withdrawal, method="cash", by=treasurer)
    with pytest.raises(ValidationError, match="already rejected"):
        withdrawal_reject(withdrawal=withdrawal, by=chair)
    assert savings_reads.savings_balance(membership=wanjiku, savings_type=default_savings_type(chama)) == D("3000.00")


def test_paying_posts_member_savings_against_cash_once(setup):
    chama, treasurer, chair, _, wanjiku = setup
    savings_deposit(membership=wanjiku, amount="8000", method="cash", by=treasurer)
    savings_deposit(membership=wanjiku, amount="1500", method="mpesa", by=treasurer)
    withdrawal = withdrawal_request(membership=wanjiku, amount="3250", by=wanjiku.user)
    withdrawal_approve(withdrawal=withdrawal, by=chair)

    withdrawal = withdrawal_pay(withdrawal=withdrawal, method="cash", by=treasurer, reference="SLIP-001")

    journal = withdrawal.journal
    assert (withdrawal.status, journal.kind, journal.amount, journal.external_reference) == (
        "paid",
        Journal.Kind.SAVINGS_WITHDRAWAL,
        D("3250.00"),
        "SLIP-001",
    )
    entries = {e.account.purpose: e.amount for e in journal.entries.select_related("account")}
    assert entries == {A.MEMBER_SAVINGS: D("3250.00"), A.CASH: D("-3250.00")}  # Dr savings, Cr cash
    # Savings 8,000 + 1,500 − 3,250 = 6,250; cash 8,000 − 3,250 = 4,750; M-Pesa untouched 1,500.
    assert savings_reads.savings_balance(membership=wanjiku, savings_type=default_savings_type(chama)) == D("6250.00")
    assert (cash(chama), cash(chama, A.MOBILE_MONEY)) == (D("4750.00"), D("1500.00"))

    before = counts()
    with pytest.raises(ValidationError, match="Only an approved withdrawal can be paid"):
        withdrawal_pay(withdrawal=withdrawal, method="cash", by=treasurer)
    assert counts() == before
    assert savings_reads.savings_balance(membership=wanjiku, savings_type=default_savings_type(chama)) == D("6250.00")


# --- shares -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [Chama.Kind.VSLA, Chama.Kind.ASCA, Chama.Kind.HYBRID, Chama.Kind.INVESTMENT_CLUB])
def test_share_chamas_sell_shares(db, today, kind):
    chama = ChamaFactory(kind=kind, policy={"share_price": D("100")})
    akinyi = joined(chama, Role.MEMBER)

    share_purchase(membership=akinyi, shares=2, method="cash", by=joined(chama, Role.TREASURER).user)

    assert savings_reads.shares_held(membership=akinyi) == 2
    assert balance(akinyi, A.MEMBER_SHARES) == D("200.00")  # 2 × 100


@pytest.mark.parametrize("kind", [Chama.Kind.ROSCA, Chama.Kind.WELFARE])
def test_other_chamas_do_not_sell_shares(db, today, kind):
    chama = ChamaFactory(kind=kind, policy={"share_price": D("100")})
    akinyi = joined(chama, Role.MEMBER)

    with pytest.raises(ValidationError, match="does not sell shares"):
        share_purchase(membership=akinyi, shares=1, method="cash", by=joined(chama, Role.TREASURER).user)
    assert (savings_reads.shares_held(membership=akinyi), counts()) == (0, (0, 0))


def test_shares_are_bought_at_the_policy_price(setup, today):
    chama, treasurer, _, _, wanjiku = setup

    journal = share_purchase(membership=wanjiku, shares=3, method="cash", by=treasurer)
    entries = {e.account.purpose: e.amount for e in journal.entries.select_related("account")}
    # 3 × 250 = 750: Dr cash, Cr Wanjiku's shares.
    assert (journal.kind, journal.amount) == (Journal.Kind.SHARE_PURCHASE, D("750.00"))
    assert entries == {A.CASH: D("750.00"), A.MEMBER_SHARES: D("-750.00")}

    policy = chama.policy
    policy.share_price = D("300")
    policy.save()
    wanjiku = Membership.objects.get(pk=wanjiku.pk)  # as the next request would load it
    today(date(2026, 11, 8))
    share_purchase(membership=wanjiku, shares=2, method="mpesa", by=treasurer)

    purchases = list(
        SharePurchase.objects.filter(membership=wanjiku).values_list("shares", "share_price", "value_date")
    )
    assert purchases == [(3, D("250.00"), NOV_1), (2, D("300.00"), date(2026, 11, 8))]
    # 3 + 2 = 5 shares; 750 + 2 × 300 = 1,350 in member shares; cash 750, M-Pesa 600.
    assert savings_reads.shares_held(membership=wanjiku) == 5
    assert balance(wanjiku, A.MEMBER_SHARES) == D("1350.00")
    assert (cash(chama), cash(chama, A.MOBILE_MONEY)) == (D("750.00"), D("600.00"))


def test_a_share_price_must_be_set(db, today):
    chama = ChamaFactory(policy={"share_price": D("0")})
    akinyi = joined(chama, Role.MEMBER)

    with pytest.raises(ValidationError, match="Set the share price"):
        share_purchase(membership=akinyi, shares=1, method="cash", by=joined(chama, Role.TREASURER).user)


@pytest.mark.parametrize("shares", [0, -1, 2.5, "3", True])
def test_shares_are_a_whole_positive_number(setup, shares):
    *_, wanjiku = setup

    with pytest.raises(ValidationError, match="whole number of shares"):
        share_purchase(membership=wanjiku, shares=shares, method="cash", by=setup[1])


def test_per_meeting_limits_count_each_members_shares_per_day(setup, today):
    chama, treasurer, _, _, wanjiku = setup
    baraka = joined(chama, Role.MEMBER)

    share_purchase(membership=wanjiku, shares=3, method="cash", by=treasurer)
    # 3 + 3 = 6 on 1 Nov, over the maximum of 5.
    with pytest.raises(ValidationError, match="1 to 5 shares per meeting; this would make 6 on 01 Nov 2026"):
        share_purchase(membership=wanjiku, shares=3, method="cash", by=treasurer)
    share_purchase(membership=wanjiku, shares=2, method="cash", by=treasurer)  # 3 + 2 = 5: allowed
    with pytest.raises(ValidationError, match="this would make 6"):
        share_purchase(membership=wanjiku, shares=1, method="cash", by=treasurer)

    # Baraka's shares on the same day are counted separately.
    share_purchase(membership=baraka, shares=5, method="cash", by=treasurer)
    # Next meeting: a fresh count.
    today(date(2026, 11, 8))
    share_purchase(membership=wanjiku, shares=5, method="cash", by=treasurer, value_date=date(2026, 11, 8))

    # Wanjiku 3 + 2 + 5 = 10 shares, Baraka 5; cash (10 + 5) × 250 = 3,750.
    assert (savings_reads.shares_held(membership=wanjiku), savings_reads.shares_held(membership=baraka)) == (10, 5)
    assert balance(wanjiku, A.MEMBER_SHARES) == D("2500.00")
    assert cash(chama) == D("3750.00")


def test_the_per_meeting_minimum(setup):
    chama, treasurer, _, _, wanjiku = setup
    policy = chama.policy
    policy.shares_min_per_meeting = 2
    policy.save()

    with pytest.raises(ValidationError, match="2 to 5 shares per meeting; this would make 1"):
        share_purchase(membership=wanjiku, shares=1, method="cash", by=treasurer)
    share_purchase(membership=wanjiku, shares=2, method="cash", by=treasurer)
    share_purchase(membership=wanjiku, shares=1, method="cash", by=treasurer)  # 2 + 1 = 3 that day
    assert savings_reads.shares_held(membership=wanjiku) == 3


def test_a_replayed_share_purchase_returns_the_first_journal(setup):
    chama, treasurer, _, _, wanjiku = setup

    first = share_purchase(membership=wanjiku, shares=4, method="mpesa", by=treasurer, reference="QK71SHR001")
    again = share_purchase(membership=wanjiku, shares=4, method="mpesa", by=treasurer, reference="QK71SHR001")

    assert again.pk == first.pk
    # Bought once: 4 shares, 4 × 250 = 1,000 (a second 4 would also have broken the 5-share limit).
    assert savings_reads.shares_held(membership=wanjiku) == 4
    assert cash(chama, A.MOBILE_MONEY) == D("1000.00")
    assert ledger.chama_account(chama, A.MOBILE_MONEY).entries.count() == 1
