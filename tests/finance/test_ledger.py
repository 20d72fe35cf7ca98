"""The double-entry ledger: post_journal's refusals, running balances, guarded accounts,
permanent rows, unique references, the chart of accounts and the trial balance.

Every amount is worked out by hand in a comment next to the assertion."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from chama.models import Notification
from chama.roles import Role
from finance.models import Account, Entry, Expense, Journal
from finance.selectors import savings as savings_reads
from finance.selectors.ledger import statement, trial_balance, unbalanced_journals
from finance.services import ledger
from finance.services import savings as savings_service
from finance.services.books import expense_record
from finance.services.dues import default_savings_type
from finance.services.reconcile import all_drift
from tests.factories import ChamaFactory, joined

A = Account.Purpose
DAY = date(2026, 11, 2)


def counts():
    return Journal.objects.count(), Entry.objects.count()


def savings_account(membership):
    return ledger.member_account(membership, A.MEMBER_SAVINGS, default_savings_type(membership.chama))


def post(chama, lines, kind=Journal.Kind.SAVINGS_DEPOSIT, **extra):
    return ledger.post_journal(chama=chama, kind=kind, lines=lines, value_date=DAY, **extra)


@pytest.fixture
def setup(db):
    chama = ChamaFactory(name="Umoja")
    treasurer = joined(chama, Role.TREASURER).user
    chair = joined(chama, Role.CHAIRPERSON).user
    wanjiku = joined(chama, Role.MEMBER)
    return chama, treasurer, chair, wanjiku


# --- post_journal refuses bad journals ---------------------------------------------------------


def test_an_unbalanced_journal_is_refused_and_nothing_is_written(setup):
    chama, _, _, wanjiku = setup
    cash, savings = ledger.chama_account(chama, A.CASH), savings_account(wanjiku)
    before = counts()

    # Debits 100.00, credits 90.00: they differ by 10.00.
    with pytest.raises(ValueError, match=r"Unbalanced journal: debits and credits differ by 10\.00"):
        post(chama, [(cash, D("100")), (savings, D("-90"))])

    assert counts() == before
    cash.refresh_from_db()
    savings.refresh_from_db()
    assert (cash.balance, savings.balance) == (D("0.00"), D("0.00"))


@pytest.mark.parametrize("amounts", [(D("0"), D("0")), (D("100"), D("-100"))], ids=["zeros", "nets-to-zero"])
def test_an_all_zero_journal_is_refused(setup, amounts):
    chama, _, _, wanjiku = setup
    cash = ledger.chama_account(chama, A.CASH)
    before = counts()

    # (cash, 0), (cash, 0) or (cash, +100), (cash, -100): every account nets to zero.
    with pytest.raises(ValidationError, match="at least one amount that is not zero"):
        post(chama, [(cash, amounts[0]), (cash, amounts[1])])

    assert counts() == before


def test_an_account_of_another_chama_is_refused(setup):
    chama, _, _, wanjiku = setup
    other = ChamaFactory(name="Tujenge")
    their_cash = ledger.chama_account(other, A.CASH)
    before = counts()

    with pytest.raises(ValueError, match="belongs to another chama"):
        post(chama, [(their_cash, D("500")), (savings_account(wanjiku), D("-500"))])

    assert counts() == before
    their_cash.refresh_from_db()
    assert their_cash.balance == D("0.00")


def test_repeated_accounts_are_merged_into_one_entry(setup):
    chama, _, _, wanjiku = setup
    cash, bank, savings = (
        ledger.chama_account(chama, A.CASH),
        ledger.chama_account(chama, A.BANK),
        savings_account(wanjiku),
    )

    # Cash 300 + 200 = 500; savings -450 - 50 = -500; the bank's +50 - 50 nets to nothing.
    journal = post(
        chama,
        [
            (cash, D("300")),
            (savings, D("-450")),
            (bank, D("50")),
            (cash, D("200")),
            (bank, D("-50")),
            (savings, D("-50")),
        ],
    )

    entries = {entry.account_id: entry.amount for entry in journal.entries.all()}
    assert entries == {cash.pk: D("500.00"), savings.pk: D("-500.00")}
    assert journal.amount == D("500.00")  # the total of the debits
    assert ledger.chama_account(chama, A.BANK).balance == D("0.00")


# --- running balances and the cached balance ---------------------------------------------------


def test_entries_carry_the_running_balance_and_the_cached_balance_moves(setup):
    chama, _, _, wanjiku = setup
    cash, savings = ledger.chama_account(chama, A.CASH), savings_account(wanjiku)

    post(chama, [(cash, D("1000")), (savings, D("-1000"))])
    post(chama, [(cash, D("250.50")), (savings, D("-250.50"))])
    post(chama, [(savings, D("400")), (cash, D("-400"))], kind=Journal.Kind.SAVINGS_WITHDRAWAL)

    # Cash: 1,000.00 → 1,000.00 + 250.50 = 1,250.50 → 1,250.50 − 400 = 850.50.
    assert [(e.amount, e.balance_after) for e in statement(account=cash)] == [
        (D("1000.00"), D("1000.00")),
        (D("250.50"), D("1250.50")),
        (D("-400.00"), D("850.50")),
    ]
    # Savings (credit-normal, stored debit positive): −1,000.00 → −1,250.50 → −850.50.
    assert [e.balance_after for e in statement(account=savings)] == [D("-1000.00"), D("-1250.50"), D("-850.50")]
    cash.refresh_from_db()
    savings.refresh_from_db()
    assert (cash.balance, cash.normal_balance) == (D("850.50"), D("850.50"))
    assert (savings.balance, savings.normal_balance) == (D("-850.50"), D("850.50"))
    assert all_drift(chama) == []
    assert list(unbalanced_journals(chama=chama)) == []


# --- guarded accounts -------------------------------------------------------------------------


def test_member_savings_cannot_go_below_zero(setup):
    chama, _, _, wanjiku = setup
    cash, savings = ledger.chama_account(chama, A.CASH), savings_account(wanjiku)
    post(chama, [(cash, D("5000")), (savings, D("-5000"))])
    post(chama, [(savings, D("4000")), (cash, D("-4000"))], kind=Journal.Kind.SAVINGS_WITHDRAWAL)
    before = counts()

    # Savings hold 5,000 − 4,000 = 1,000; taking 1,500 would need 1,500.
    with pytest.raises(
        ValidationError, match=r"Not enough in Regular savings.*holds KES 1,000\.00, KES 1,500\.00 would be needed"
    ):
        post(chama, [(savings, D("1500")), (cash, D("-1500"))], kind=Journal.Kind.SAVINGS_WITHDRAWAL)

    assert counts() == before
    savings.refresh_from_db()
    assert savings.normal_balance == D("1000.00")


def test_a_withdrawal_larger_than_the_cash_balance_is_refused(setup):
    chama, treasurer, chair, wanjiku = setup
    savings_service.savings_deposit(membership=wanjiku, amount="1000", method="cash", by=treasurer)
    savings_service.savings_deposit(membership=wanjiku, amount="4000", method="mpesa", by=treasurer)
    withdrawal = savings_service.withdrawal_request(membership=wanjiku, amount="3000", by=wanjiku.user)
    savings_service.withdrawal_approve(withdrawal=withdrawal, by=chair)
    before = counts()

    # Savings hold 1,000 + 4,000 = 5,000, but the cash box holds only 1,000 of it (4,000 is on M-Pesa).
    with pytest.raises(
        ValidationError, match=r"Not enough in Cash on hand: it holds KES 1,000\.00, KES 3,000\.00 would be needed"
    ):
        savings_service.withdrawal_pay(withdrawal=withdrawal, method="cash", by=treasurer)

    assert counts() == before
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.journal_id) == ("approved", None)
    assert ledger.chama_account(chama, A.CASH).normal_balance == D("1000.00")
    assert savings_reads.savings_balance(membership=wanjiku, savings_type=default_savings_type(chama)) == D("5000.00")


def test_an_expense_larger_than_the_cash_balance_is_refused(setup):
    chama, treasurer, _, wanjiku = setup
    savings_service.savings_deposit(membership=wanjiku, amount="1000", method="cash", by=treasurer)
    before = counts()

    # Cash holds 1,000; a 1,500 expense would need 1,500.
    with pytest.raises(
        ValidationError, match=r"Not enough in Cash on hand: it holds KES 1,000\.00, KES 1,500\.00 would be needed"
    ):
        expense_record(chama=chama, category="meeting", amount="1500", description="Hall hire", by=treasurer)

    assert counts() == before
    assert Expense.objects.count() == 0
    assert ledger.chama_account(chama, A.CASH).normal_balance == D("1000.00")
    assert ledger.expense_account(chama, "meeting").balance == D("0.00")


# --- permanent rows ---------------------------------------------------------------------------


@pytest.fixture
def posted(setup):
    chama, _, _, wanjiku = setup
    journal = post(
        chama, [(ledger.chama_account(chama, A.CASH), D("700")), (savings_account(wanjiku), D("-700"))], memo="Deposit"
    )
    return journal, journal.entries.first()


def test_a_posted_journal_or_entry_cannot_be_saved_again(posted):
    journal, entry = posted
    journal.memo, entry.amount = "Changed", D("1")

    with pytest.raises(TypeError, match="cannot be changed"):
        journal.save()
    with pytest.raises(TypeError, match="cannot be changed"):
        entry.save()

    journal.refresh_from_db()
    entry.refresh_from_db()
    assert (journal.memo, entry.amount) == ("Deposit", D("700.00"))


def test_a_posted_journal_or_entry_cannot_be_deleted(posted):
    journal, entry = posted

    with pytest.raises(TypeError, match="cannot be deleted"):
        journal.delete()
    with pytest.raises(TypeError, match="cannot be deleted"):
        entry.delete()

    assert Journal.objects.filter(pk=journal.pk).exists() and Entry.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize("model", [Journal, Entry])
def test_querysets_of_posted_rows_refuse_update_delete_and_bulk_writes(posted, model):
    journal, entry = posted
    row = journal if model is Journal else entry
    queryset = model.objects.filter(pk=row.pk)

    with pytest.raises(TypeError, match="permanent"):
        queryset.update(created_date=row.created_date)
    with pytest.raises(TypeError, match="permanent"):
        queryset.delete()
    with pytest.raises(TypeError, match="permanent"):
        model.objects.all().delete()
    with pytest.raises(TypeError, match="permanent"):
        model.objects.bulk_update([row], ["updated_date"])
    with pytest.raises(TypeError, match="written by finance.services.ledger only"):
        model.objects.bulk_create([model(chama=row.chama, amount=D("1"))])

    assert model.objects.filter(pk=row.pk).count() == 1


def test_related_managers_of_a_journal_refuse_bulk_writes(posted):
    journal, _ = posted

    with pytest.raises(TypeError, match="permanent"):
        journal.entries.update(amount=D("1"))
    with pytest.raises(TypeError, match="permanent"):
        journal.entries.all().delete()

    assert sorted(journal.entries.values_list("amount", flat=True)) == [D("-700.00"), D("700.00")]


def test_a_new_instance_carrying_a_posted_primary_key_cannot_overwrite_it(posted):
    """`Journal(pk=<posted pk>, ...).save()` is a save on an existing row too: it must not
    silently UPDATE the posted journal (Django's save() updates when the pk already exists)."""
    journal, entry = posted
    # Every column filled in, as a row rebuilt from serialized data would be.
    forged = Journal(
        pk=journal.pk,
        chama=journal.chama,
        kind=Journal.Kind.EXPENSE,
        value_date=DAY,
        amount=D("1.00"),
        memo="Forged",
        created_date=journal.created_date,
    )

    with pytest.raises((TypeError, IntegrityError)), transaction.atomic():
        forged.save()

    journal.refresh_from_db()
    assert (journal.kind, journal.amount, journal.memo) == (Journal.Kind.SAVINGS_DEPOSIT, D("700.00"), "Deposit")


# --- unique references ------------------------------------------------------------------------


def test_external_reference_is_unique_in_a_chama_but_not_across_chamas(setup):
    chama, _, _, wanjiku = setup
    other = ChamaFactory(name="Tujenge")
    otieno = joined(other, Role.MEMBER)
    cash, savings = ledger.chama_account(chama, A.CASH), savings_account(wanjiku)
    first = post(chama, [(cash, D("100")), (savings, D("-100"))], external_reference="QK71ABC123")

    with pytest.raises(IntegrityError), transaction.atomic():
        post(chama, [(cash, D("200")), (savings, D("-200"))], external_reference="QK71ABC123")

    # The same M-Pesa receipt number in another chama is a different receipt.
    theirs = post(
        other,
        [(ledger.chama_account(other, A.CASH), D("300")), (savings_account(otieno), D("-300"))],
        external_reference="QK71ABC123",
    )

    assert Journal.objects.filter(external_reference="QK71ABC123").count() == 2
    assert ledger.find_posted(chama, external_reference="QK71ABC123") == first
    assert ledger.find_posted(other, external_reference="QK71ABC123") == theirs
    # Only the first 100 reached Umoja's cash; the refused 200 left no trace.
    assert ledger.chama_account(chama, A.CASH).balance == D("100.00")
    assert all_drift() == []


def test_idempotency_key_is_unique_in_a_chama(setup):
    chama, _, _, wanjiku = setup
    cash, savings = ledger.chama_account(chama, A.CASH), savings_account(wanjiku)
    post(chama, [(cash, D("100")), (savings, D("-100"))], idempotency_key="app-42")
    before = counts()

    with pytest.raises(IntegrityError), transaction.atomic():
        post(chama, [(cash, D("100")), (savings, D("-100"))], idempotency_key="app-42")

    assert counts() == before


# --- chart of accounts and trial balance ------------------------------------------------------


def test_ensure_chart_creates_the_standard_accounts_once(db):
    chama = ChamaFactory()
    assert Account.objects.filter(chama=chama).count() == 0

    ledger.ensure_chart(chama)
    ledger.ensure_chart(chama)

    accounts = {a.code: (a.type, a.purpose) for a in Account.objects.filter(chama=chama)}
    # 17 chama accounts (with loan penalties, recoveries and loan losses) + 7 expense categories = 24.
    assert len(accounts) == len(ledger.CHART) == 24
    assert accounts["1000"] == (Account.Type.ASSET, A.CASH)
    assert accounts["2900"] == (Account.Type.LIABILITY, A.SUSPENSE)
    assert accounts["4000"] == (Account.Type.INCOME, A.FINE_INCOME)
    assert accounts["5000"] == (Account.Type.EXPENSE, A.EXPENSE)
    assert all(balance == 0 for balance in Account.objects.filter(chama=chama).values_list("balance", flat=True))
    # A chart in one chama does not give another chama any account.
    other = ChamaFactory()
    assert Account.objects.filter(chama=other).count() == 0
    assert ledger.chama_account(other, A.CASH).chama == other
    assert Account.objects.filter(chama=other).count() == 24


def test_trial_balance_totals_are_equal(setup):
    chama, treasurer, _, wanjiku = setup
    savings_service.savings_deposit(membership=wanjiku, amount="1000", method="cash", by=treasurer)
    savings_service.savings_deposit(membership=wanjiku, amount="2000", method="mpesa", by=treasurer)
    expense_record(chama=chama, category="stationery", amount="300", description="Receipt books", by=treasurer)

    rows, debit, credit = trial_balance(chama=chama)

    # Debits: cash 1,000 − 300 = 700, M-Pesa 2,000, stationery 300 → 3,000.
    # Credits: Wanjiku's savings 1,000 + 2,000 = 3,000.
    by_code = {account.code: (dr, cr) for account, dr, cr in rows}
    assert by_code["1000"] == (D("700.00"), D("0.00"))
    assert by_code["1020"] == (D("2000.00"), D("0.00"))
    assert by_code[ledger.EXPENSE_CODES["stationery"]] == (D("300.00"), D("0.00"))
    assert by_code[savings_account(wanjiku).code] == (D("0.00"), D("3000.00"))
    assert len(rows) == 4
    assert debit == credit == D("3000.00")


# --- receipts and accounts opened in bulk ------------------------------------------------------


def test_money_a_member_paid_in_sends_them_one_receipt(setup, django_capture_on_commit_callbacks):
    chama, _, _, wanjiku = setup
    chama.currency = "KES"
    with django_capture_on_commit_callbacks(execute=True):
        journal = post(
            chama,
            [(ledger.chama_account(chama, A.CASH), D("1500")), (savings_account(wanjiku), D("-1500"))],
            membership=wanjiku,
            memo="Savings",
        )
        # The journal is the record; the receipt is written when it commits.
        assert not Notification.objects.filter(user=wanjiku.user).exists()

    receipt = Notification.objects.get(user=wanjiku.user)
    assert (receipt.kind, receipt.dedupe_key, receipt.title) == (
        Notification.Kind.PAYMENT_RECEIPT,
        f"receipt-{journal.pk}",
        "Umoja: KES 1,500.00 received",
    )
    assert receipt.body == (f"Umoja recorded KES 1,500.00 from you on 02 Nov 2026: Savings. Receipt no. {journal.pk}.")


def test_member_accounts_opens_the_missing_ones_like_member_account_would(setup):
    chama, _, _, wanjiku = setup
    other = joined(chama, Role.MEMBER)
    existing = ledger.member_account(wanjiku, A.MEMBER_ADVANCE)

    accounts = ledger.member_accounts(chama, [wanjiku, other], A.MEMBER_ADVANCE)

    assert accounts[wanjiku.pk] == existing
    opened = accounts[other.pk]
    assert (opened.chama_id, opened.membership_id, opened.purpose, opened.type, opened.code) == (
        chama.pk,
        other.pk,
        A.MEMBER_ADVANCE,
        Account.Type.LIABILITY,
        f"2100-{other.pk:06d}",
    )
    assert opened.name == f"Advance payments — {other.member_number} {other.user.get_full_name()}"
    assert ledger.member_account(other, A.MEMBER_ADVANCE) == opened


# --- what post_journal writes, to the cent -------------------------------------------------------


def test_the_journal_keeps_who_for_whom_what_it_reverses_and_the_sum_of_its_debits(setup):
    chama, treasurer, _, wanjiku = setup
    cash, savings, fees = (
        ledger.chama_account(chama, A.CASH),
        savings_account(wanjiku),
        ledger.chama_account(chama, A.FEE_INCOME),
    )
    plain = post(chama, [(cash, D("10")), (fees, D("-10"))], kind=Journal.Kind.PAYMENT)
    # Debits 100.00 + 0.75 = 100.75; the credit is the same 100.75.
    journal = post(
        chama,
        [(cash, D("100")), (fees, D("0.75")), (savings, D("-100.75"))],
        membership=wanjiku,
        created_by=treasurer,
        reversal_of=plain,
        memo="m" * 300,
    )

    journal.refresh_from_db()
    assert (journal.membership_id, journal.created_by_id, journal.reversal_of_id, journal.amount) == (
        wanjiku.pk,
        treasurer.pk,
        plain.pk,
        D("100.75"),
    )
    assert journal.memo == "m" * 255
    plain.refresh_from_db()
    assert (plain.memo, plain.membership_id, plain.created_by_id, plain.amount) == ("", None, None, D("10.00"))


def test_a_guarded_account_may_end_at_zero_or_at_a_few_cents(setup):
    chama, _, _, wanjiku = setup
    cash, savings = ledger.chama_account(chama, A.CASH), savings_account(wanjiku)
    post(chama, [(cash, D("100.50")), (savings, D("-100.50"))])

    post(chama, [(savings, D("100")), (cash, D("-100"))], kind=Journal.Kind.SAVINGS_WITHDRAWAL)  # 0.50 left
    assert (Account.objects.get(pk=cash.pk).balance, Account.objects.get(pk=savings.pk).balance) == (
        D("0.50"),
        D("-0.50"),
    )
    post(chama, [(savings, D("0.50")), (cash, D("-0.50"))], kind=Journal.Kind.SAVINGS_WITHDRAWAL)  # exactly 0.00 left
    assert Account.objects.get(pk=cash.pk).balance == D("0.00")


def test_a_journal_of_zeros_is_refused_with_a_sentence(setup):
    chama, _, _, wanjiku = setup
    with pytest.raises(ValidationError) as exc_info:
        post(chama, [(ledger.chama_account(chama, A.CASH), D("0")), (savings_account(wanjiku), D("0"))])
    assert exc_info.value.messages == ["A journal needs at least one amount that is not zero."]


def test_a_suspended_chama_records_only_money_that_arrived(setup):
    chama, _, _, wanjiku = setup
    mobile, suspense = ledger.chama_account(chama, A.MOBILE_MONEY), ledger.chama_account(chama, A.SUSPENSE)
    chama.status = chama.Status.SUSPENDED

    with pytest.raises(ValidationError) as exc_info:
        post(chama, [(mobile, D("300")), (savings_account(wanjiku), D("-300"))])
    assert exc_info.value.messages == ["Umoja is suspended: no money can move until it is active again."]

    receipt = post(chama, [(mobile, D("300")), (suspense, D("-300"))], kind=Journal.Kind.SUSPENSE_RECEIPT)
    assert receipt.amount == D("300.00")
