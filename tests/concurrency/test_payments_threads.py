"""Money under real concurrency (PostgreSQL, one connection per thread): payments, idempotent replays,
M-Pesa callbacks delivered many times at once, withdrawals and expenses racing for the same money."""

import json
from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from chama.roles import Role
from finance.models import Account, Due, Expense, Journal, MpesaChannel, MpesaReceipt, Withdrawal
from finance.selectors.ledger import trial_balance, unbalanced_journals
from finance.services import books, collections, mpesa, savings
from finance.services import dues as dues_service
from finance.services.reconcile import all_drift
from tests.concurrency.threads import run_at_once
from tests.factories import ChamaFactory, joined
from tests.helpers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

A = Account.Purpose
METHODS = ["cash", "mpesa", "bank"]
C2B_JSON = """{"TransactionType":"Pay Bill","TransID":"RKTQDM7W6S","TransTime":"20261122063845","TransAmount":"1500.00",
"BusinessShortCode":"600638","BillRefNumber":"M003","InvoiceNumber":"","OrgAccountBalance":"49197.00",
"ThirdPartyTransID":"","MSISDN":"254708374149","FirstName":"John","MiddleName":"","LastName":"Doe"}"""


def make_chama(**policy):
    """KES 1,000 due monthly on the 5th; a high second-approval threshold unless told otherwise."""
    return ChamaFactory(
        policy={
            "contribution_amount": D("1000"),
            "contribution_frequency": "monthly",
            "contribution_due_day": 5,
            "grace_days": 3,
            "second_approval_threshold": D("1000000"),
            **policy,
        }
    )


def raise_dues(chama, months):
    dues_service.contribution_plan_from_policy(chama, start_date=date(2026, 1, 1))
    for month in months:
        dues_service.generate_dues(period=(2026, month), chama=chama)


def held(chama, purpose):
    account = Account.objects.filter(chama=chama, purpose=purpose, membership__isnull=True).first()
    return account.normal_balance if account else D("0.00")


def member_balance(membership, purpose):
    return sum((a.normal_balance for a in Account.objects.filter(membership=membership, purpose=purpose)), D("0.00"))


def assert_books_sound(chama):
    assert list(unbalanced_journals()) == []
    _, debit, credit = trial_balance(chama=chama)
    assert debit == credit
    assert all_drift() == []
    for account in Account.objects.filter(chama=chama, purpose__in=[A.CASH, A.BANK, A.MOBILE_MONEY]):
        assert account.normal_balance >= 0, account


def test_sixteen_payments_by_one_member_at_once_lose_nothing():
    chama = make_chama()
    treasurer = joined(chama, Role.TREASURER)
    wanjiku = joined(chama)
    raise_dues(chama, [8, 9, 10, 11])  # 4,000 owed
    amounts = [D("250.00") + D("12.35") * i for i in range(16)]  # 4,000 + 1,482 = 5,482.00
    assert sum(amounts) == D("5482.00")

    results, errors = run_at_once(
        lambda i: dues_service.payment_record(
            membership=wanjiku, amount=amounts[i], method=METHODS[i % 3], by=treasurer.user, idempotency_key=f"pay-{i}"
        ),
        16,
    )

    assert errors == {}
    assert len({journal.pk for journal in results.values()}) == 16
    for method, purpose in zip(METHODS, [A.CASH, A.MOBILE_MONEY, A.BANK], strict=True):
        expected = sum((amounts[i] for i in range(16) if METHODS[i % 3] == method), D("0.00"))
        assert held(chama, purpose) == expected, method
    assert held(chama, A.CASH) + held(chama, A.MOBILE_MONEY) + held(chama, A.BANK) == D("5482.00")
    assert member_balance(wanjiku, A.MEMBER_SAVINGS) == D("4000.00")
    assert member_balance(wanjiku, A.MEMBER_ADVANCE) == D("1482.00")
    dues = list(Due.objects.filter(membership=wanjiku))
    assert [(d.paid_amount, d.status) for d in dues] == [(D("1000.00"), Due.Status.PAID)] * 4
    assert Journal.objects.filter(chama=chama, membership=wanjiku).count() == 16
    assert_books_sound(chama)


def test_sixteen_members_paying_at_once_each_get_their_own_money():
    chama = make_chama()
    treasurer = joined(chama, Role.TREASURER)
    people = [joined(chama) for _ in range(16)]
    raise_dues(chama, [9, 10])  # 2,000 owed by each
    amounts = [D("1500.00") + D("100.01") * i for i in range(16)]  # 1,500.00 … 3,000.15, 36,001.20 in all

    results, errors = run_at_once(
        lambda i: dues_service.payment_record(
            membership=people[i], amount=amounts[i], method="cash", by=treasurer.user
        ),
        16,
    )

    assert errors == {}
    assert len({journal.pk for journal in results.values()}) == 16
    assert held(chama, A.CASH) == sum(amounts) == D("36001.20")
    for person, amount in zip(people, amounts, strict=True):
        assert member_balance(person, A.MEMBER_SAVINGS) == min(amount, D("2000.00"))
        assert member_balance(person, A.MEMBER_ADVANCE) == max(amount - D("2000.00"), D("0.00"))
        assert sum(d.paid_amount for d in Due.objects.filter(membership=person)) == min(amount, D("2000.00"))
    # The treasurer paid nothing.
    assert member_balance(treasurer, A.MEMBER_SAVINGS) == D("0.00")
    assert_books_sound(chama)


def test_the_same_idempotency_key_from_eight_threads_posts_once():
    chama = make_chama()
    treasurer = joined(chama, Role.TREASURER)
    wanjiku = joined(chama)
    raise_dues(chama, [9])

    results, errors = run_at_once(
        lambda i: dues_service.payment_record(
            membership=wanjiku, amount="1200.50", method="cash", by=treasurer.user, idempotency_key="app-7f3c-0001"
        ),
        8,
    )

    assert errors == {}
    assert len(results) == 8
    assert len({journal.pk for journal in results.values()}) == 1
    assert Journal.objects.filter(chama=chama).count() == 1
    assert Journal.objects.get(chama=chama).idempotency_key == "app-7f3c-0001"
    assert held(chama, A.CASH) == D("1200.50")
    assert member_balance(wanjiku, A.MEMBER_SAVINGS) == D("1000.00")
    assert member_balance(wanjiku, A.MEMBER_ADVANCE) == D("200.50")
    assert Due.objects.get(membership=wanjiku).paid_amount == D("1000.00")
    assert_books_sound(chama)


@pytest.mark.parametrize(
    "reference, msisdn, status",
    [
        ("M003", "254708374149", MpesaReceipt.Status.POSTED),
        ("NOBODY", "254799000111", MpesaReceipt.Status.SUSPENSE),
    ],
    ids=["matched", "suspense"],
)
def test_the_same_mpesa_receipt_delivered_by_eight_threads_posts_once(reference, msisdn, status):
    chama = make_chama()
    joined(chama, Role.TREASURER)
    joined(chama, Role.CHAIRPERSON)
    wanjiku = joined(chama)
    assert wanjiku.member_number == "M003"
    raise_dues(chama, [9, 10])
    channel = MpesaChannel.objects.create(chama=chama, shortcode="600638")
    payload = json.loads(C2B_JSON)
    payload.update(BillRefNumber=reference, MSISDN=msisdn)

    def deliver(i):
        fields = mpesa.parse_c2b(payload)
        return mpesa.receive(
            channel=mpesa.channel_for(chama.pk, channel.new_secret),
            source=MpesaReceipt.Source.C2B,
            fields=fields,
            payload=payload,
        )

    results, errors = run_at_once(deliver, 8)

    assert errors == {}
    assert len(results) == 8
    assert len({receipt.pk for receipt in results.values()}) == 1
    assert len({receipt.journal_id for receipt in results.values()}) == 1
    assert MpesaReceipt.objects.filter(chama=chama).count() == 1
    receipt = MpesaReceipt.objects.get(chama=chama)
    assert receipt.status == status
    assert Journal.objects.filter(chama=chama, external_reference="RKTQDM7W6S").count() == 1
    assert Journal.objects.filter(chama=chama).count() == 1
    assert held(chama, A.MOBILE_MONEY) == D("1500.00")
    if status == MpesaReceipt.Status.POSTED:
        assert receipt.membership == wanjiku
        assert member_balance(wanjiku, A.MEMBER_SAVINGS) == D("1500.00")
        assert held(chama, A.SUSPENSE) == D("0.00")
    else:
        assert receipt.membership is None
        assert held(chama, A.SUSPENSE) == D("1500.00")
        assert member_balance(wanjiku, A.MEMBER_SAVINGS) == D("0.00")
    assert_books_sound(chama)


def test_withdrawals_racing_for_the_same_savings_never_go_below_the_minimum():
    chama = make_chama()
    treasurer = joined(chama, Role.TREASURER)
    chair = joined(chama, Role.CHAIRPERSON)
    wanjiku = joined(chama)
    regular = dues_service.default_savings_type(chama)
    regular.minimum_balance = D("1000.00")
    regular.save()
    savings.savings_deposit(membership=wanjiku, amount="10000.00", method="cash", by=treasurer.user)
    savings.savings_deposit(
        membership=joined(chama), amount="20000.00", method="cash", by=treasurer.user
    )  # cash to spare
    # Each one alone is allowed (10,000 − 2,000 ≥ 1,000); only four fit together.
    requests = [savings.withdrawal_request(membership=wanjiku, amount="2000.00", by=wanjiku.user) for _ in range(8)]
    for withdrawal in requests:
        savings.withdrawal_approve(withdrawal=withdrawal, by=chair.user)
    assert all(Withdrawal.objects.get(pk=w.pk).status == Withdrawal.Status.APPROVED for w in requests)

    results, errors = run_at_once(
        lambda i: savings.withdrawal_pay(withdrawal=requests[i], method="cash", by=treasurer.user), 8
    )

    assert all(isinstance(error, ValidationError) for error in errors.values()), errors
    assert (len(results), len(errors)) == (4, 4)
    regular_savings = Account.objects.get(membership=wanjiku, purpose=A.MEMBER_SAVINGS, savings_type=regular)
    assert regular_savings.normal_balance == D("2000.00") >= regular.minimum_balance
    assert Withdrawal.objects.filter(chama=chama, status=Withdrawal.Status.PAID).count() == 4
    assert Withdrawal.objects.filter(chama=chama, status=Withdrawal.Status.APPROVED, journal__isnull=True).count() == 4
    assert held(chama, A.CASH) == D("30000.00") - D("8000.00")
    assert_books_sound(chama)


def test_expenses_racing_for_the_same_cash_never_make_it_negative():
    chama = make_chama()
    treasurer = joined(chama, Role.TREASURER)
    wanjiku = joined(chama)
    savings.savings_deposit(membership=wanjiku, amount="10000.00", method="cash", by=treasurer.user)

    results, errors = run_at_once(
        lambda i: books.expense_record(
            chama=chama, category="meeting", amount="3000.00", description=f"Hall hire {i}", by=treasurer.user
        ),
        8,
    )

    assert all(isinstance(error, ValidationError) for error in errors.values()), errors
    assert (len(results), len(errors)) == (3, 5)
    assert held(chama, A.CASH) == D("1000.00")
    assert Expense.objects.filter(chama=chama).count() == 3
    assert Account.objects.get(chama=chama, code="5000").normal_balance == D("9000.00")
    assert member_balance(wanjiku, A.MEMBER_SAVINGS) == D("10000.00")
    assert_books_sound(chama)


def test_payments_and_expenses_on_the_same_cash_at_once():
    """Money coming in and going out of one cash account at the same time: no lost update."""
    chama = make_chama()
    treasurer = joined(chama, Role.TREASURER)
    people = [joined(chama) for _ in range(8)]
    savings.savings_deposit(membership=people[0], amount="8000.00", method="cash", by=treasurer.user)

    def work(i):
        if i < 8:
            return savings.savings_deposit(membership=people[i], amount="500.00", method="cash", by=treasurer.user)
        return books.expense_record(
            chama=chama, category="transport", amount="1000.00", description=f"Fare {i}", by=treasurer.user
        )

    results, errors = run_at_once(work, 16)

    assert errors == {}
    assert len(results) == 16
    # 8,000 + 8 × 500 in, 8 × 1,000 out.
    assert held(chama, A.CASH) == D("4000.00")
    assert_books_sound(chama)


def test_a_collection_sheet_and_payments_of_its_members_at_once_all_post_without_a_deadlock():
    """The sheet locks all its members before it posts: a payment holds its member, then the
    accounts; a sheet holding the cash account while it waited for a member would deadlock with it."""
    chama = make_chama()
    treasurer = joined(chama, Role.TREASURER)
    members = [joined(chama) for _ in range(12)]
    raise_dues(chama, [1, 2])
    sheet_rows = [{"membership": m.pk, "contribution": D("1000")} for m in members]

    def work(i):
        if i == 0:
            return _sheet(chama, sheet_rows, treasurer.user)
        # The other threads pay for the members from the last to the first: the order a sheet would not.
        membership = members[-i]
        return dues_service.payment_record(membership=membership, amount="1000", method="cash", by=treasurer.user)

    results, errors = run_at_once(work, len(members) + 1)

    assert errors == {}
    # Every member paid 2,000 against 2,000 owed: the sheet's 1,000 and the payment's 1,000.
    assert Due.objects.filter(membership__in=members).exclude(status=Due.Status.PAID).count() == 0
    assert held(chama, A.CASH) == D("24000.00")  # 12 members × (1,000 at the sheet + 1,000 paid)
    assert_books_sound(chama)


def _sheet(chama, rows, by):
    return collections.collection_sheet_post(chama=chama, day=chama.today(), rows=rows, method="cash", by=by)
