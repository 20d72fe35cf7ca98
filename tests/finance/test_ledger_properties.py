"""Property: whatever treasurers do, in whatever order, the books stay balanced and the caches true.

Hypothesis draws a random list of operations (payments, deposits, withdrawals, fines, waivers,
share purchases, reversals of earlier journals, expenses, late fines) on one VSLA with three
members and three months of dues. Every step is followed by the ledger's invariants; an operation
the services refuse (ValidationError, or authority.Refused: an officer acting on their own money)
must leave no trace. Expenses above the threshold wait for the chairperson's second signature. Each example builds its own chama inside
a transaction that is rolled back at the end, so examples never see each other's rows.
"""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from chama import authority
from chama.money import to_money
from chama.roles import Role
from finance.models import (
    Account,
    Due,
    DueAllocation,
    Entry,
    Expense,
    Journal,
    SharePurchase,
    Waiver,
    Withdrawal,
)
from finance.selectors import savings as savings_reads
from finance.selectors.ledger import trial_balance, unbalanced_journals
from finance.services import books, chain, ledger, reversals, savings
from finance.services import dues as dues_service
from finance.services.reconcile import all_drift
from reporting import statements
from tests.factories import ChamaFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

A = Account.Purpose
MONEY = {A.CASH, A.BANK, A.MOBILE_MONEY}
SHARE_PRICE = D("200.00")


class _Rollback(Exception):
    """Raised at the end of an example to roll its rows back."""


# --- what hypothesis draws -------------------------------------------------------------------

amounts = st.integers(min_value=100, max_value=300_000).map(lambda cents: f"{cents // 100}.{cents % 100:02d}")
methods = st.sampled_from(["cash", "mpesa", "bank", "cheque"])
members = st.integers(min_value=0, max_value=2)
picks = st.integers(min_value=0, max_value=10_000)

percents = st.integers(min_value=1, max_value=130)  # of what the account holds: some are too much
askers = st.sampled_from(["self", "self", "treasurer", "chairperson"])

money_in = st.one_of(
    st.tuples(st.just("pay"), members, amounts, methods),
    st.tuples(st.just("deposit"), members, amounts, methods),
)
withdrawals = st.tuples(st.just("withdraw"), members, percents, methods, askers)
operations = st.one_of(  # money in and withdrawals are drawn more often than the rest
    money_in,
    money_in,
    money_in,
    withdrawals,
    withdrawals,
    st.tuples(st.just("fine"), members, amounts),
    st.tuples(st.just("waive"), picks, st.one_of(st.none(), amounts)),
    st.tuples(st.just("shares"), members, st.integers(min_value=1, max_value=6), methods, st.integers(0, 3)),
    st.tuples(st.just("reverse"), picks),
    st.tuples(st.just("expense"), percents, methods, st.sampled_from(Expense.Category.values)),
    st.tuples(
        st.just("penalties"),
    ),
)


# --- the chama every example starts from -----------------------------------------------------


class World:
    def __init__(self):
        self.chama = ChamaFactory(
            policy={
                "contribution_amount": D("1000"),
                "contribution_frequency": "monthly",
                "contribution_due_day": 5,
                "grace_days": 3,
                "late_fine_amount": D("100"),
                "second_approval_threshold": D("500"),
                "share_price": SHARE_PRICE,
                "shares_min_per_meeting": 1,
                "shares_max_per_meeting": 5,
            }
        )
        self.chair = self._join(Role.CHAIRPERSON)
        self.treasurer = self._join(Role.TREASURER)
        self.wanjiku = self._join(Role.MEMBER)
        self.members = [self.chair, self.treasurer, self.wanjiku]
        self.officers = [self.chair.user, self.treasurer.user]
        dues_service.contribution_plan_from_policy(self.chama, start_date=date(2026, 8, 1))
        for month in (8, 9, 10):
            dues_service.generate_dues(period=(2026, month), chama=self.chama)
        self.today = self.chama.today()
        self.refusals = 0
        self.done = 0

    def _join(self, role):
        return MembershipFactory(chama=self.chama, role=role, user=UserFactory(), joined_date=date(2026, 1, 10))


def snapshot(chama):
    """Every money row and cache of the chama, to prove a refusal changed nothing."""
    return {
        "journals": list(Journal.objects.filter(chama=chama).order_by("id").values_list("id", flat=True)),
        "entries": Entry.objects.filter(chama=chama).count(),
        "accounts": sorted(Account.objects.filter(chama=chama).values_list("id", "balance")),
        "dues": sorted(Due.objects.filter(chama=chama).values_list("id", "paid_amount", "waived_amount", "status")),
        "allocations": DueAllocation.objects.filter(chama=chama).count(),
        "waivers": sorted(Waiver.objects.filter(chama=chama).values_list("id", "status", "journal_id")),
        "withdrawals": sorted(Withdrawal.objects.filter(chama=chama).values_list("id", "status", "journal_id")),
        "approvals": sorted(
            Withdrawal.approvals.through.objects.filter(withdrawal__chama=chama).values_list("withdrawal_id", "user_id")
        ),
        "shares": SharePurchase.objects.filter(chama=chama).count(),
        "expenses": sorted(Expense.objects.filter(chama=chama).values_list("id", "status", "journal_id")),
    }


def attempt(world, action, *args, **kwargs):
    """Run one service call; a refusal is allowed but must leave the books exactly as they were."""
    before = snapshot(world.chama)
    try:
        result = action(*args, **kwargs)
    except (ValidationError, authority.Refused):
        assert snapshot(world.chama) == before, f"{action.__name__} was refused but left a trace"
        world.refusals += 1
        event(f"{action.__name__} refused")
        return None
    world.done += 1
    event(f"{action.__name__} done")
    return result


# --- running one operation -------------------------------------------------------------------


def money_held(chama, method):
    return ledger.method_account(chama, method).normal_balance


def part_of(held, percent):
    """`percent` of a balance as money (at least a cent); above 100 % it is more than is there."""
    return max(to_money(held * percent / 100), D("0.01"))


def run(world, op):
    kind, *args = op
    chama, treasurer = world.chama, world.treasurer.user
    if kind == "pay":
        who, amount, method = args
        attempt(
            world,
            dues_service.payment_record,
            membership=world.members[who],
            amount=amount,
            method=method,
            by=treasurer,
        )
    elif kind == "deposit":
        who, amount, method = args
        attempt(
            world, savings.savings_deposit, membership=world.members[who], amount=amount, method=method, by=treasurer
        )
    elif kind == "withdraw":
        who, percent, method, asker = args
        regular = dues_service.default_savings_type(chama)
        savers = [
            m for m in world.members if savings_reads.savings_balance(membership=m, savings_type=regular) > 0
        ] or world.members
        membership = savers[who % len(savers)]
        held = savings_reads.savings_balance(membership=membership, savings_type=regular)
        amount = part_of(held, percent)
        by = {"self": membership.user, "treasurer": treasurer, "chairperson": world.chair.user}[asker]
        withdrawal = attempt(world, savings.withdrawal_request, membership=membership, amount=amount, by=by)
        if withdrawal is None:
            return
        for officer in world.officers:
            attempt(world, savings.withdrawal_approve, withdrawal=withdrawal, by=officer)
        funded = [m for m in ("cash", "mpesa", "bank") if money_held(chama, m) >= amount]
        if method not in funded and funded:
            method = funded[percent % len(funded)]
        attempt(world, savings.withdrawal_pay, withdrawal=withdrawal, method=method, by=treasurer)
    elif kind == "fine":
        who, amount = args
        attempt(
            world,
            dues_service.fine_charge,
            membership=world.members[who],
            amount=amount,
            reason="Late to the meeting",
            by=treasurer,
        )
    elif kind == "waive":
        pick, amount = args
        dues = list(Due.objects.filter(chama=chama).order_by("id"))
        due = dues[pick % len(dues)]
        waiver = attempt(world, dues_service.waiver_request, due=due, reason="Hardship", by=treasurer, amount=amount)
        if waiver is not None and waiver.status == Waiver.Status.PENDING:
            attempt(world, dues_service.waiver_approve, waiver=waiver, by=world.chair.user)
    elif kind == "shares":
        who, count, method, meeting = args
        attempt(
            world,
            savings.share_purchase,
            membership=world.members[who],
            shares=count,
            method=method,
            by=treasurer,
            value_date=world.today - timedelta(weeks=meeting),
        )
    elif kind == "reverse":
        (pick,) = args
        journals = list(Journal.objects.filter(chama=chama).order_by("id"))
        if journals:
            attempt(
                world,
                reversals.journal_reverse,
                journal=journals[pick % len(journals)],
                reason="Entered in error",
                by=treasurer,
            )
    elif kind == "expense":
        percent, method, category = args
        # Pay from an account that holds money when there is one (the percentage may still be too much).
        funded = [m for m in ("cash", "mpesa", "bank") if money_held(chama, m) > 0]
        if method not in funded and funded:
            method = funded[percent % len(funded)]
        held = money_held(chama, method)
        expense = attempt(
            world,
            books.expense_record,
            chama=chama,
            category=category,
            amount=part_of(held, percent),
            description="Meeting tea",
            by=treasurer,
            paid_through=method,
        )
        if expense is not None and expense.status == Expense.Status.PENDING:
            attempt(world, books.cashbook_approve, record=expense, by=world.chair.user)  # the second officer
    elif kind == "penalties":
        attempt(world, dues_service.apply_penalties, as_of=world.today, chama=chama)
    else:  # pragma: no cover
        raise AssertionError(kind)


# --- the invariants --------------------------------------------------------------------------


def exact_sums(rows):
    """{key: sum} added up in Python Decimals (each amount read back as a 2-place Decimal)."""
    totals = {}
    for key, amount in rows:
        totals[key] = totals.get(key, D("0.00")) + amount
    return totals


def check_invariants(world, op):
    chama = world.chama
    # The truth, added up exactly here: every journal sums to zero, every cached figure is the
    # sum of its rows. Then the application's own checks must agree with it.
    journal_totals = exact_sums(Entry.objects.filter(chama=chama).values_list("journal_id", "amount"))
    assert set(journal_totals) == set(Journal.objects.filter(chama=chama).values_list("id", flat=True))
    assert {pk: total for pk, total in journal_totals.items() if total != 0} == {}, f"unbalanced journal after {op}"
    account_totals = exact_sums(Entry.objects.filter(chama=chama).values_list("account_id", "amount"))
    for pk, cached in Account.objects.filter(chama=chama).values_list("id", "balance"):
        assert cached == account_totals.get(pk, D("0.00")), f"account {pk} balance is not its entries after {op}"
    allocated = exact_sums(
        ((due, kind), amount)
        for due, kind, amount in DueAllocation.objects.filter(chama=chama).values_list("due_id", "kind", "amount")
    )
    for pk, paid, waived in Due.objects.filter(chama=chama).values_list("id", "paid_amount", "waived_amount"):
        assert (paid, waived) == (
            allocated.get((pk, "payment"), D("0.00")),
            allocated.get((pk, "waiver"), D("0.00")),
        ), f"due {pk} paid/waived are not its allocations after {op}"

    assert list(unbalanced_journals()) == [], f"finance.selectors.unbalanced_journals() is not empty after {op}"
    _, debit, credit = trial_balance(chama=chama)
    assert debit == credit, f"trial balance {debit} != {credit} after {op}"
    assert all_drift() == [], f"reconcile.all_drift() is not empty after {op}"
    for account in Account.objects.filter(chama=chama):
        if account.purpose in MONEY:
            assert account.normal_balance >= 0, f"{account} is negative ({account.normal_balance}) after {op}"
        if account.purpose in ledger.GUARDED:
            assert account.normal_balance >= 0, f"guarded {account} is negative after {op}"
    for due in Due.objects.filter(chama=chama):
        assert due.paid_amount >= 0 and due.waived_amount >= 0, f"{due.pk} {due.description} after {op}"
        assert due.paid_amount + due.waived_amount <= due.amount, f"{due.pk} {due.description} overpaid after {op}"
        if due.status != Due.Status.CANCELLED:
            settled = due.status in (Due.Status.PAID, Due.Status.WAIVED)
            assert settled == (due.outstanding == 0), (
                f"due {due.pk} {due.description} is {due.status} with {due.outstanding} outstanding after {op}"
            )
    for membership in world.members:
        shares = sum(SharePurchase.objects.filter(membership=membership).values_list("shares", flat=True))
        account = Account.objects.filter(membership=membership, purpose=A.MEMBER_SHARES).first()
        assert (account.normal_balance if account else 0) == shares * SHARE_PRICE, f"shares of {membership} after {op}"
    for withdrawal in Withdrawal.objects.filter(chama=chama, status=Withdrawal.Status.PAID):
        assert withdrawal.journal_id is not None


def check_reports(world):
    """Every statement ties to the ledger after the workload (reporting reads what it wrote)."""
    chama, today = world.chama, world.chama.today()
    sheet = statements.balance_sheet(chama=chama, as_of=today)
    totals = {row[0]: row[2] for row in sheet.rows if row[0].startswith("Total")}
    assert totals["Total assets"] == totals["Total liabilities"] + totals["Total equity"] == sheet.totals[2]
    lines = {row[1]: row[2] for row in sheet.rows}
    funds = statements.members_funds(chama=chama, as_of=today)
    by_kind = dict(zip(funds.columns[2:], funds.totals[2:], strict=True))
    for kind in ("Members' savings", "Members' shares", "Fines owed by members"):
        assert by_kind[kind] == lines.get(kind, 0), kind
    cash = Account.objects.filter(chama=chama, purpose=A.CASH, membership__isnull=True).first()
    book = statements.cash_book(chama=chama, channel="cash", start=date(2000, 1, 1), end=today)
    assert book.totals[5] == (cash.normal_balance if cash else 0)
    income = statements.income_statement(chama=chama, start=date(2000, 1, 1), end=today)
    unclosed = sum(
        (a.normal_balance if a.type == "income" else -a.normal_balance)
        for a in Account.objects.filter(chama=chama, type__in=["income", "expense"])
    )
    assert income.totals[2] == unclosed
    trial = statements.trial_balance(chama=chama, as_of=today)
    debits = sum((a.balance for a in Account.objects.filter(chama=chama, balance__gt=0)), 0)
    assert trial.totals[1] == trial.totals[2] == debits


@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=4, max_size=30))
# Found by this test before; kept so that every run tries them.
# A due paid in parts whose cents add up to exactly what is owed.
@example(
    ops=[
        ("pay", 2, "999.70", "cash"),
        ("pay", 2, "0.10", "cash"),
        ("pay", 2, "0.20", "cash"),
        ("pay", 2, "1000.00", "cash"),
    ]
)
# Totals of entries with cents: a journal and a fines account whose entries sum exactly.
@example(ops=[("fine", 0, "1.00"), ("fine", 0, "1.00"), ("pay", 0, "21.02", "cash"), ("pay", 0, "2980.99", "cash")])
@example(ops=[("fine", 0, "3.04"), ("pay", 0, "1.00", "cash"), ("fine", 0, "63.89"), ("reverse", 182)])
# A member's own withdrawal approved by both officers and paid.
@example(
    ops=[("deposit", 2, "2000.00", "cash"), ("withdraw", 2, 60, "cash", "self"), ("expense", 50, "cash", "meeting")]
)
def test_random_operations_keep_the_books_balanced(ops):
    try:
        with transaction.atomic():
            world = World()
            check_invariants(world, "setup")
            for op in ops:
                run(world, op)
                check_invariants(world, op)
            check_reports(world)
            assert chain.verify(world.chama) is None  # every journal of the workload on the chain, in line
            raise _Rollback
    except _Rollback:
        pass
    assert not Journal.objects.exists()  # the example left nothing behind for the next one
