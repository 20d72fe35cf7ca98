"""Loans under real concurrency (PostgreSQL, one connection per thread): many repayments racing on
one loan and its payoff, idempotent replays, repayments, a disbursement and an expense racing on
one cash account, and officers and guarantors deciding on the same loan at once; then a write-off
approval and a month-end arrears run racing repayments of the same loan.

Every amount is worked out by hand in the comments; after each race the loan's receivable, its
repayment lines, its installments' paid caches and the chama's cash must tell the same story.
"""

import re
import threading
import time
from collections import Counter
from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from chama import authority
from chama.roles import Role
from finance.models import (
    Account,
    Expense,
    Guarantee,
    Installment,
    Journal,
    Loan,
    LoanApproval,
    RepaymentLine,
)
from finance.selectors import loans as loan_reads
from finance.selectors.ledger import trial_balance, unbalanced_journals
from finance.services import books, loans, savings
from finance.services.reconcile import all_drift
from tests.concurrency.threads import run_at_once
from tests.factories import ChamaFactory, MembershipFactory, UserFactory, biashara_product
from tests.helpers import requires_postgres, today_is

# Money here is recorded on the day it is dated: each step moves the chama's clock to its day.
pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock")]

A = Account.Purpose
ZERO = D("0.00")
COMPONENTS = ("principal", "interest", "fee", "penalty")
INCOME = {"interest": A.INTEREST_INCOME, "fee": A.FEE_INCOME, "penalty": A.PENALTY_INCOME}
DISBURSED_ON = date(2026, 6, 15)
REPAID_ON = date(2026, 8, 20)


# --- the chama ---------------------------------------------------------------------------------


class Shop:
    """A chama with three officers, borrowers with savings and a loan product (no guarantors unless asked)."""

    def __init__(self, *, approvals=2, guarantors=0, coverage=D("0"), fee_mode="added", concurrent=1):
        self.chama = ChamaFactory(
            policy={
                "loan_approvals_required": approvals,
                "loan_min_membership_days": 90,
                "loan_max_savings_multiple": D("3"),
                "loan_max_concurrent": concurrent,
            }
        )
        self.chair, self.treasurer, self.secretary = (
            self.join(role) for role in (Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY)
        )
        # 12% a year, monthly, 3 installments of 6,000: see the schedule in repayable_loan().
        self.product = biashara_product(
            self.chama, fee_mode=fee_mode, guarantors_required=guarantors, guarantee_coverage=coverage
        )

    def join(self, role=Role.MEMBER):
        return MembershipFactory(chama=self.chama, role=role, user=UserFactory(), joined_date=date(2026, 1, 10))

    def saver(self, amount="10000"):
        person = self.join()
        savings.savings_deposit(membership=person, amount=amount, method="cash", by=self.treasurer.user)
        return person

    def approved_loan(self, borrower, principal="6000", installments=3):
        loan = loans.loan_apply(
            membership=borrower, product=self.product, principal=principal, installments=installments, by=borrower.user
        )
        loans.loan_approve(loan=loan, by=self.chair.user)
        loans.loan_approve(loan=loan, by=self.secretary.user)
        return Loan.objects.get(pk=loan.pk)

    def active_loan(self, borrower, principal="6000", installments=3, on=DISBURSED_ON):
        loan = self.approved_loan(borrower, principal, installments)
        today_is(on)
        return loans.loan_disburse(loan=loan, by=self.treasurer.user, method="cash", value_date=on)

    def held(self, purpose):
        account = Account.objects.filter(chama=self.chama, purpose=purpose, membership__isnull=True).first()
        return account.normal_balance if account else ZERO


def repayable_loan(shop, borrower):
    """6,000 over 3 months from 15 Jun, fee 120 added to installment 1, penalties charged on 20 Aug.

    r = 1% a month; installment 6000 × 0.01 / (1 − 1.01^−3) = 2040.13 → 2040:
      1 (15 Jul): principal 1980.00, interest 60.00, fee 120.00
      2 (15 Aug): principal 1999.80, interest 40.20
      3 (15 Sep): principal 2020.20, interest 20.20
    On 20 Aug both are more than 3 days late: 5% of 2,160.00 = 108.00 and 5% of 2,040.00 = 102.00.
    Payoff on 20 Aug: 2,268.00 + 2,142.00 + installment 3's principal 2,020.20 = 6,430.20.
    """
    loan = shop.active_loan(borrower)
    rows = [(i.principal, i.interest, i.fee) for i in loan_reads.current_installments(loan=loan)]
    assert rows == [
        (D("1980.00"), D("60.00"), D("120.00")),
        (D("1999.80"), D("40.20"), ZERO),
        (D("2020.20"), D("20.20"), ZERO),
    ]
    today_is(REPAID_ON)
    loans.update_arrears(as_of=REPAID_ON, chama=shop.chama)
    assert [i.penalty for i in loan_reads.current_installments(loan=loan)] == [D("108.00"), D("102.00"), ZERO]
    assert loan_reads.payoff_amount(loan=loan, as_of=REPAID_ON) == D("6430.20")
    return Loan.objects.get(pk=loan.pk)


# --- what the books say about a loan, added up by hand ------------------------------------------


def sums(pairs):
    totals = Counter()
    for key, amount in pairs:
        totals[key] += amount
    return {key: totals.get(key, ZERO) + ZERO for key in COMPONENTS}


def loan_books(loan):
    lines = sums(RepaymentLine.objects.filter(loan=loan).values_list("component", "amount"))
    cached = sums((c, getattr(row, f"{c}_paid")) for row in Installment.objects.filter(loan=loan) for c in COMPONENTS)
    receivable = Account.objects.get(loan=loan).normal_balance
    return lines, cached, receivable


def assert_loan_books_agree(shop, loan, accepted, cash_before, income_before):
    """The accepted repayments, the journals, the lines, the installments, the receivable and the cash agree."""
    lines, cached, receivable = loan_books(loan)
    total = sum(accepted, ZERO)
    assert sum(lines.values(), ZERO) == total
    assert cached == lines
    assert receivable == loan.principal - lines["principal"]
    assert shop.held(A.CASH) - cash_before == total
    for component, purpose in INCOME.items():
        assert shop.held(purpose) - income_before[component] == lines[component], component
    journals = Journal.objects.filter(loan=loan, kind=Journal.Kind.LOAN_REPAYMENT)
    assert sorted(journals.values_list("amount", flat=True)) == sorted(accepted)
    for journal in journals:
        assert sum(journal.repayment_lines.values_list("amount", flat=True), ZERO) == journal.amount
    for row in Installment.objects.filter(loan=loan):
        for component in COMPONENTS:
            paid, charged = getattr(row, f"{component}_paid"), getattr(row, component)
            assert ZERO <= paid <= charged, (row, component, paid, charged)
    # The receivable is what the current schedule still owes in principal.
    assert receivable == sum((row.owed("principal") for row in loan_reads.current_installments(loan=loan)), ZERO)


def assert_books_sound(chama):
    assert list(unbalanced_journals()) == []
    _, debit, credit = trial_balance(chama=chama)
    assert debit == credit
    assert all_drift() == []
    for account in Account.objects.filter(chama=chama, purpose__in=[A.CASH, A.BANK, A.MOBILE_MONEY, A.LOAN_RECEIVABLE]):
        assert account.normal_balance >= 0, account


def income_now(shop):
    return {component: shop.held(purpose) for component, purpose in INCOME.items()}


# --- (a) racing for the payoff -----------------------------------------------------------------

PAYOFF = D("6430.20")


@pytest.mark.parametrize(
    "amounts",
    [
        [D("500.00")] * 16,  # 12 fit (6,000.00); 430.20 is left, so 4 are refused
        [D("428.68")] * 16,  # 15 × 428.68 = 6,430.20 exactly: the 15th closes the loan
        [D("250.00") + D("37.31") * i for i in range(16)],  # 8,477.20 in all, in amounts of every size
    ],
    ids=["overshoot", "exact-payoff", "mixed"],
)
def test_sixteen_repayments_racing_for_the_payoff_never_overpay(amounts):
    shop = Shop()
    wanjiku = shop.saver()
    shop.saver("20000")  # cash to lend
    loan = repayable_loan(shop, wanjiku)
    cash_before, income_before = shop.held(A.CASH), income_now(shop)
    assert sum(amounts) > PAYOFF

    results, errors = run_at_once(
        lambda i: loans.loan_repay(
            loan=loan, amount=amounts[i], method="cash", by=shop.treasurer.user, value_date=REPAID_ON
        ),
        16,
    )

    assert all(isinstance(error, ValidationError) for error in errors.values()), errors
    assert len(results) + len(errors) == 16
    assert len({journal.pk for journal in results.values()}) == len(results)
    accepted = [amounts[i] for i in results]
    paid = sum(accepted, ZERO)
    assert paid <= PAYOFF
    loan.refresh_from_db()
    left = loan_reads.payoff_amount(loan=loan, as_of=REPAID_ON) if loan.status != Loan.Status.CLOSED else ZERO
    assert paid + left == PAYOFF
    for i, error in errors.items():
        # Refused because it no longer fitted: the payoff only shrinks, so it still does not fit.
        assert amounts[i] > left, (amounts[i], left)
        message = " ".join(error.messages)
        quoted = re.search(r"The payoff on 20 Aug 2026 is ([\d,]+\.\d\d); pay at most that\.", message)
        if quoted is None:
            assert loan.status == Loan.Status.CLOSED and "closed" in message, message
        else:
            # The payoff quoted was the one at that moment: no less than what is left now, less than the amount.
            assert left <= D(quoted.group(1).replace(",", "")) < amounts[i], message

    if paid == PAYOFF:
        # Closed once, by the repayment that reached the payoff: installment 3's interest (not due) is forgiven.
        assert (loan.status, loan.closed_date) == (Loan.Status.CLOSED, REPAID_ON)
        rows = list(loan_reads.current_installments(loan=loan))
        assert [row.status for row in rows] == [Installment.Status.PAID] * 3
        assert [row.interest_forgiven for row in rows] == [ZERO, ZERO, D("20.20")]
        lines, _, receivable = loan_books(loan)
        assert lines == {"principal": D("6000.00"), "interest": D("100.20"), "fee": D("120.00"), "penalty": D("210.00")}
        assert receivable == ZERO
    else:
        assert loan.status == Loan.Status.ACTIVE and loan.closed_date is None
    if amounts[0] == D("500.00"):
        # 12 × 500 = 6,000: installments 1 (2,268.00) and 2 (2,142.00) in full, then 1,590.00 of installment 3's principal.
        assert (len(results), paid) == (12, D("6000.00"))
        assert all("The payoff on 20 Aug 2026 is 430.20" in " ".join(e.messages) for e in errors.values()), errors
        lines, _, receivable = loan_books(loan)
        assert lines == {"principal": D("5569.80"), "interest": D("100.20"), "fee": D("120.00"), "penalty": D("210.00")}
        assert receivable == D("430.20")  # 6,000 − 5,569.80
    if amounts[0] == D("428.68"):
        assert (len(results), len(errors)) == (15, 1)
    assert_loan_books_agree(shop, loan, accepted, cash_before, income_before)
    assert_books_sound(shop.chama)


# --- (b) many small repayments at once ---------------------------------------------------------


def test_sixteen_small_repayments_at_once_lose_nothing():
    shop = Shop()
    wanjiku = shop.saver()
    shop.saver("20000")
    loan = shop.active_loan(wanjiku)  # nothing is due before 15 Jul; the fee of 120 is owed first
    methods = ["cash", "mpesa", "bank", "cash"]
    amounts = [D("100.00") + D("10.01") * i for i in range(16)]  # 1,600 + 10.01 × 120 = 2,801.20
    assert sum(amounts) == D("2801.20")
    before = {purpose: shop.held(purpose) for purpose in (A.CASH, A.MOBILE_MONEY, A.BANK, A.FEE_INCOME)}

    today_is(date(2026, 6, 20))
    results, errors = run_at_once(
        lambda i: loans.loan_repay(
            loan=loan, amount=amounts[i], method=methods[i % 4], by=shop.treasurer.user, value_date=date(2026, 6, 20)
        ),
        16,
    )

    assert errors == {}
    assert len({journal.pk for journal in results.values()}) == 16
    for method, purpose in (("cash", A.CASH), ("mpesa", A.MOBILE_MONEY), ("bank", A.BANK)):
        expected = sum((amounts[i] for i in range(16) if methods[i % 4] == method), ZERO)
        assert shop.held(purpose) - before[purpose] == expected, method
    # The fee of 120.00 (on installment 1, owed before its principal) then 2,681.20 of principal, oldest installment first.
    assert shop.held(A.FEE_INCOME) - before[A.FEE_INCOME] == D("120.00")
    lines, cached, receivable = loan_books(loan)
    assert lines == cached == {"principal": D("2681.20"), "interest": ZERO, "fee": D("120.00"), "penalty": ZERO}
    assert loan_reads.outstanding_principal(loan=loan) == receivable == D("6000.00") - D("2681.20")
    first, second, third = loan_reads.current_installments(loan=loan)
    assert (first.principal_paid, second.principal_paid, third.principal_paid) == (D("1980.00"), D("701.20"), ZERO)
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.ACTIVE
    assert_books_sound(shop.chama)


# --- (c) one Idempotency-Key from eight threads ------------------------------------------------


def test_the_same_idempotency_key_from_eight_threads_repays_once():
    shop = Shop()
    wanjiku = shop.saver()
    shop.saver("20000")
    loan = repayable_loan(shop, wanjiku)
    cash_before, income_before = shop.held(A.CASH), income_now(shop)

    results, errors = run_at_once(
        lambda i: loans.loan_repay(
            loan=loan,
            amount="2500.00",
            method="cash",
            by=shop.treasurer.user,
            value_date=REPAID_ON,
            idempotency_key="app-loan-7f3c-0001",
        ),
        8,
    )

    assert errors == {}
    assert len(results) == 8
    assert len({journal.pk for journal in results.values()}) == 1
    journal = Journal.objects.get(chama=shop.chama, kind=Journal.Kind.LOAN_REPAYMENT)
    assert journal.idempotency_key == "app-loan-7f3c-0001" and journal.amount == D("2500.00")
    # 2,500: installment 1 in full (2,268.00), then installment 2's penalty 102.00, interest 40.20 and 89.80 of principal.
    lines, _, receivable = loan_books(loan)
    assert lines == {"principal": D("2069.80"), "interest": D("100.20"), "fee": D("120.00"), "penalty": D("210.00")}
    assert receivable == D("3930.20")
    assert_loan_books_agree(shop, loan, [D("2500.00")], cash_before, income_before)
    assert_books_sound(shop.chama)


# --- (d) two loans, a disbursement and an expense on one cash account ---------------------------


@pytest.mark.parametrize("second_loan_of_a_repayer", [False, True], ids=["third-member", "repayer's-second-loan"])
def test_repayments_of_two_loans_a_disbursement_and_an_expense_on_one_cash_account(second_loan_of_a_repayer):
    shop = Shop(concurrent=2)
    wanjiku, otieno = shop.saver(), shop.saver()
    shop.saver("30000")  # cash to lend
    first = shop.active_loan(wanjiku)
    second = shop.active_loan(otieno, principal="3000")
    third = shop.approved_loan(wanjiku if second_loan_of_a_repayer else shop.saver(), principal="4000")
    # Fee 2% added: the third loan pays out its whole 4,000.
    cash_before, expenses_before = shop.held(A.CASH), Expense.objects.filter(chama=shop.chama).count()
    amounts = [D("150.00") + D("5.50") * i for i in range(14)]  # 7 on each loan

    def work(i):
        if i < 14:
            today_is(date(2026, 6, 20))
            return loans.loan_repay(
                loan=first if i % 2 == 0 else second,
                amount=amounts[i],
                method="cash",
                by=shop.treasurer.user,
                value_date=date(2026, 6, 20),
            )
        if i == 14:
            return loans.loan_disburse(loan=third, by=shop.treasurer.user, method="cash", value_date=date(2026, 6, 20))
        return books.expense_record(
            chama=shop.chama, category="meeting", amount="750.00", description="Hall hire", by=shop.treasurer.user
        )

    results, errors = run_at_once(work, 16)

    assert errors == {}, errors  # no deadlock, no refusal
    repaid_first = sum((amounts[i] for i in range(0, 14, 2)), ZERO)
    repaid_second = sum((amounts[i] for i in range(1, 14, 2)), ZERO)
    assert shop.held(A.CASH) - cash_before == repaid_first + repaid_second - D("4000.00") - D("750.00")
    assert Expense.objects.filter(chama=shop.chama).count() == expenses_before + 1
    assert Loan.objects.get(pk=third.pk).status == Loan.Status.ACTIVE
    assert loan_reads.outstanding_principal(loan=third) == D("4000.00")
    # Nothing is due on 20 Jun: each loan's fee first (120.00 and 60.00), the rest to principal.
    assert loan_reads.outstanding_principal(loan=first) == D("6000.00") - (repaid_first - D("120.00"))
    assert loan_reads.outstanding_principal(loan=second) == D("3000.00") - (repaid_second - D("60.00"))
    for loan in (first, second, third):
        lines, cached, receivable = loan_books(loan)
        assert lines == cached
        assert receivable == sum((row.owed("principal") for row in loan_reads.current_installments(loan=loan)), ZERO)
    assert_books_sound(shop.chama)


# --- (e) approvals and guarantees decided at once ----------------------------------------------


@pytest.mark.parametrize("required", [1, 2])
def test_officers_approving_the_same_loan_at_once_count_each_approval_once(required):
    shop = Shop(approvals=required)
    wanjiku = shop.saver()
    loan = loans.loan_apply(membership=wanjiku, product=shop.product, principal="6000", installments=3, by=wanjiku.user)
    officers = [shop.chair.user, shop.treasurer.user, shop.secretary.user]
    # Each officer clicks twice, from two tabs.
    results, errors = run_at_once(lambda i: loans.loan_approve(loan=loan, by=officers[i % 3]), 6)

    # A second click is refused: the loan is approved already, or that officer has signed already.
    for error in errors.values():
        assert isinstance(error, (ValidationError, authority.Refused)), errors
        if isinstance(error, authority.Refused):
            assert "You have already signed this loan" in error.reason, errors
    approvals = LoanApproval.objects.filter(loan=loan)
    assert approvals.count() == len(results) == required
    assert len(set(approvals.values_list("officer", flat=True))) == required
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.APPROVED


def test_a_guarantor_accepting_while_officers_approve_never_approves_an_uncovered_loan():
    """Guarantors accept while two officers approve, on five loans at once: an approval counts only
    when the loan was covered at that moment, and a loan is approved only with two such approvals."""
    shop = Shop(approvals=2, guarantors=1, coverage=D("50"))
    borrowers = [shop.saver() for _ in range(5)]
    guarantors = [shop.saver("5000") for _ in range(5)]
    applied = []
    for borrower, guarantor in zip(borrowers, guarantors, strict=True):
        loan = loans.loan_apply(
            membership=borrower,
            product=shop.product,
            principal="6000",
            installments=3,
            by=borrower.user,
            guarantors=[(guarantor, "3000")],
        )
        applied.append((loan, loan.guarantees.get(), guarantor))

    def work(i):
        loan, guarantee, guarantor = applied[i // 3]
        if i % 3 == 0:
            return loans.guarantee_accept(guarantee=guarantee, by=guarantor.user)
        return loans.loan_approve(loan=loan, by=(shop.chair.user if i % 3 == 1 else shop.secretary.user))

    results, errors = run_at_once(work, 15)

    for i, error in errors.items():
        assert isinstance(error, ValidationError), error
        assert i % 3 != 0, f"the guarantor of loan {i // 3} was refused: {error}"
        assert "Guarantees are not complete" in " ".join(error.messages)
    for n, (loan, guarantee, guarantor) in enumerate(applied):
        loan.refresh_from_db()
        assert Guarantee.objects.get(pk=guarantee.pk).status == Guarantee.Status.ACCEPTED
        approvals = LoanApproval.objects.filter(loan=loan)
        officers = list(approvals.values_list("officer", flat=True))
        assert len(officers) == len(set(officers)) == sum(1 for i in (3 * n + 1, 3 * n + 2) if i in results)
        assert loan.status == (Loan.Status.APPROVED if len(officers) == 2 else Loan.Status.APPLIED)
        # Each approval was given while the guarantee was accepted.
        for approval in approvals:
            assert Guarantee.objects.get(pk=guarantee.pk).decided_date <= approval.created_date
        assert loan_reads.pledged_savings(membership=guarantor) == D("3000.00")


# --- beyond the brief's five races: other services racing a repayment on the same loan ----------


def test_a_write_off_approved_while_the_member_repays_does_not_deadlock():
    """The second officer approves a write-off while repayments of the same loan come in: each
    repayment lands either before the write-off (and is written off less) or is refused after it."""
    shop = Shop()
    wanjiku = shop.saver()
    shop.saver("20000")
    loan = shop.active_loan(wanjiku)
    loans.write_off_request(loan=loan, by=shop.chair.user, reason="Moved away")
    cash_before = shop.held(A.CASH)

    def work(i):
        if i < 7:
            today_is(date(2026, 6, 20))
            return loans.loan_repay(
                loan=loan, amount="100.00", method="cash", by=shop.treasurer.user, value_date=date(2026, 6, 20)
            )
        return loans.write_off_approve(loan=loan, by=shop.secretary.user)

    results, errors = run_at_once(work, 8)

    assert all(isinstance(error, ValidationError) for error in errors.values()), errors  # no deadlock
    assert 7 in results
    loan.refresh_from_db()
    assert loan.status == Loan.Status.WRITTEN_OFF
    repaid = D("100.00") * len([i for i in results if i < 7])
    assert shop.held(A.CASH) - cash_before == repaid
    # Each repayment before the write-off paid the fee (120.00) first, then principal.
    principal_repaid = max(repaid - D("120.00"), ZERO)
    assert shop.held(A.LOAN_LOSS) == D("6000.00") - principal_repaid
    assert loan_reads.outstanding_principal(loan=loan) == ZERO
    assert_books_sound(shop.chama)


def wait_until_blocked_on_a_lock(thread, timeout=10):
    """Poll PostgreSQL until another connection of this test waits on a row lock (or `thread` is done,
    or the time is up: an application that never waits here is fine too)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while thread.is_alive() and time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def test_update_arrears_racing_the_payoff_does_not_reopen_the_loan():
    """Month-end arrears run while the member pays the loan off (deterministic interleaving: the
    payoff commits after update_arrears read the loan and while it waits for the installments' locks)."""
    shop = Shop()
    wanjiku = shop.saver()
    shop.saver("20000")
    loan = repayable_loan(shop, wanjiku)
    as_of = date(2026, 9, 25)  # installment 3 (15 Sep) is now due too, not yet penalised
    payoff = loan_reads.payoff_amount(loan=loan, as_of=as_of)
    assert payoff == D("6450.40")  # 6,430.20 + installment 3's interest 20.20
    repaid, go = threading.Event(), threading.Event()
    outcome = {}

    def pay_off():
        try:
            today_is(as_of)
            with transaction.atomic():
                outcome["journal"] = loans.loan_repay(
                    loan=loan, amount=payoff, method="cash", by=shop.treasurer.user, value_date=as_of
                )
                repaid.set()
                assert go.wait(15)
        except Exception as exc:  # asserted on below
            outcome["pay_off"] = exc
            repaid.set()
        finally:
            connection.close()

    def month_end():
        try:
            today_is(as_of)
            outcome["report"] = loans.update_arrears(as_of=as_of, chama=shop.chama)
        except Exception as exc:  # asserted on below
            outcome["month_end"] = exc
        finally:
            connection.close()

    payer = threading.Thread(target=pay_off)
    payer.start()
    assert repaid.wait(15)
    job = threading.Thread(target=month_end)
    job.start()
    try:
        wait_until_blocked_on_a_lock(job)
    finally:
        go.set()
        payer.join()
        job.join()

    assert "pay_off" not in outcome and "month_end" not in outcome, outcome
    loan.refresh_from_db()
    assert (loan.status, loan.days_in_arrears) == (Loan.Status.CLOSED, 0)
    rows = list(loan_reads.current_installments(loan=loan))
    assert [row.status for row in rows] == [Installment.Status.PAID] * 3
    assert all(row.outstanding == ZERO for row in rows), [(row.n, row.penalty, row.penalty_paid) for row in rows]
    assert loan_reads.outstanding_principal(loan=loan) == ZERO
    assert_books_sound(shop.chama)
