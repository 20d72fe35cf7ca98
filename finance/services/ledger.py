"""Posting to the ledger: the chart of accounts, balanced journals, reversals.

`post_journal` is the only writer of entries and account balances. It locks the accounts it
touches (in primary-key order, so concurrent postings cannot deadlock), refuses a journal that
does not sum to zero or that would take cash, a member's savings or any other guarded account
below zero, and sets the cached balances to the values worked out under the lock, in the same
transaction (`ledger_writes`; inside `all_or_nothing()`, once for the whole batch).

When the transaction commits it announces the journal with `finance.signals.journal_posted`:
receipts and anything else derived from postings listen there, after the money is safely
recorded, instead of being called from inside the posting (a balance never depends on a receiver).

Inside `account_cache()` (every `post_once` opens one; the collection sheet opens one for the whole
meeting) an account looked up by its code is read once per transaction, and `preload_accounts`
reads the chama's chart and one member's accounts in a single statement.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from chama import rows
from chama.models import User
from chama.money import ZERO, shown, to_money
from finance.locking import lock_accounts, lock_chain, lock_chama_accounts, lock_loans
from finance.models import Account, Entry, Expense, Journal, Loan, SavingsType
from finance.services import chain, value_dates
from finance.services.ledger_writes import entries_of, insert_entries, insert_journal, set_balances, set_chain_head
from finance.signals import journal_posted
from groups.locking import lock_membership, lock_memberships
from groups.models import Chama, Membership

A = Account.Purpose
T = Account.Type
CLOSED_STATUSES = (Chama.Status.SUSPENDED, Chama.Status.DISSOLVED)
logger = logging.getLogger("finance.ledger")

# code, name, type, purpose: created for every chama on its first posting.
CHART = [
    ("1000", "Cash on hand", T.ASSET, A.CASH),
    ("1010", "Bank", T.ASSET, A.BANK),
    ("1020", "M-Pesa", T.ASSET, A.MOBILE_MONEY),
    ("1500", "Investments", T.ASSET, A.INVESTMENTS),
    ("2200", "Welfare fund", T.LIABILITY, A.WELFARE_FUND),
    ("2300", "Merry-go-round pot", T.LIABILITY, A.ROSCA_POT),
    ("2900", "Unallocated receipts (suspense)", T.LIABILITY, A.SUSPENSE),
    ("3900", "Retained earnings", T.EQUITY, A.RETAINED_EARNINGS),
    ("4000", "Fine income", T.INCOME, A.FINE_INCOME),
    ("4050", "Loan penalty income", T.INCOME, A.PENALTY_INCOME),
    ("4100", "Interest income", T.INCOME, A.INTEREST_INCOME),
    ("4200", "Fee income", T.INCOME, A.FEE_INCOME),
    ("4300", "Other income", T.INCOME, A.OTHER_INCOME),
    ("4400", "Investment income", T.INCOME, A.INVESTMENT_INCOME),
    ("4500", "Unrealised gains on investments", T.INCOME, A.UNREALISED_GAIN),
    ("4600", "Recoveries of written-off loans", T.INCOME, A.RECOVERIES_INCOME),
    ("5900", "Loan losses", T.EXPENSE, A.LOAN_LOSS),
    *[
        (f"5{index:02d}0", f"Expenses: {label}", T.EXPENSE, A.EXPENSE)
        for index, (_, label) in enumerate(Expense.Category.choices)
    ],
]
CHAMA_CODES = {purpose: code for code, _, _, purpose in CHART if purpose != A.EXPENSE}
CHART_CODES = list(CHAMA_CODES.values())
EXPENSE_CODES = {category: f"5{index:02d}0" for index, (category, _) in enumerate(Expense.Category.choices)}

# Per-member accounts: purpose → (code prefix, type, name).
MEMBER_ACCOUNTS = {
    A.FINES_RECEIVABLE: ("1100", T.ASSET, "Fines owed"),
    A.MEMBER_SAVINGS: ("2000", T.LIABILITY, "Savings"),
    A.MEMBER_ADVANCE: ("2100", T.LIABILITY, "Advance payments"),
    A.MEMBER_SHARES: ("3000", T.EQUITY, "Shares"),
}

# Accounts whose normal balance may never be negative: money the chama holds, what it owes
# members, what members owe it.
GUARDED = {
    A.CASH,
    A.BANK,
    A.MOBILE_MONEY,
    A.INVESTMENTS,
    A.FINES_RECEIVABLE,
    A.LOAN_RECEIVABLE,
    A.MEMBER_SAVINGS,
    A.MEMBER_ADVANCE,
    A.MEMBER_SHARES,
    A.WELFARE_FUND,
    A.ROSCA_POT,
    A.SUSPENSE,
}


def ensure_chart(chama: Chama) -> None:
    """Create the chama's standard accounts that do not exist yet."""
    existing = set(Account.objects.filter(chama=chama, membership__isnull=True).values_list("code", flat=True))
    for code, name, type_, purpose in CHART:
        if code not in existing:
            Account.objects.get_or_create(
                chama=chama, code=code, defaults={"name": name, "type": type_, "purpose": purpose}
            )


# --- accounts read once per transaction ---------------------------------------------------------

# {key: value} of the innermost `account_cache()` block; None outside one.
_cache: ContextVar[dict[Any, Any] | None] = ContextVar("ledger_account_cache", default=None)


@contextmanager
def account_cache() -> Iterator[dict[Any, Any]]:
    """Within the block, accounts found by code (and a chama's default savings type) are read
    once. The block lives inside one transaction: an account created in it and rolled back with it
    is forgotten with the block (a block opened inside another reuses it). Only an account's
    identity is cached; balances are always read under lock by `post_journal`."""
    cache = _cache.get()
    if cache is not None:
        yield cache
        return
    token = _cache.set({})
    try:
        yield _cache.get()
    finally:
        _cache.reset(token)


@dataclass
class _Batch:
    """What `all_or_nothing()` holds while its postings run: the accounts' balances as moved so
    far (read once, under lock), the entries not written yet, and the members already locked."""

    balances: dict[int, Decimal] = field(default_factory=dict)
    chain: list = field(default_factory=list)  # the chain's head as the block's journals moved it
    moved: set[int] = field(default_factory=set)
    entries: list[Entry] = field(default_factory=list)
    members: set[int] = field(default_factory=set)


_batch: ContextVar[_Batch | None] = ContextVar("ledger_batch", default=None)


@contextmanager
def all_or_nothing(chama: Chama, membership_ids: Iterable[int], loan_ids: Iterable[int] = ()) -> Iterator[None]:
    """A transaction of many postings for the members `membership_ids` of `chama` (a meeting's
    collection sheet), committed whole or rolled back whole.

    On entry it takes its locks in the order of `chama.locking`: the members, the loans it will
    repay (`loan_ids`), then the chama's own accounts and the members' accounts, each kind by
    primary key, and reads the accounts into one `account_cache()`. The postings
    in it take no savepoints and no locks of their own; their entries and the accounts' balances
    are written when the block ends, one insert and one update whatever the number of postings.
    Until then the balances in the database lag behind the block's postings (`post_journal` reads
    them from the block), so nothing in the block may read an account's balance from the database.
    A refusal inside must end the block (its caller may start again with savepoints, outside it,
    to name every refusal)."""
    members = sorted(set(membership_ids))
    with transaction.atomic(), account_cache() as cache:
        lock_memberships(members)
        lock_loans(Loan.objects.filter(pk__in=sorted(set(loan_ids))))
        batch = _Batch(members=set(members), chain=lock_chain(chama.pk))
        start = list(batch.chain)
        for account in lock_chama_accounts(chama.pk, members):
            cache.setdefault(("account", chama.pk, account.code), account)
            batch.balances[account.pk] = account.balance
        cache[("chart", chama.pk)] = True
        cache.update({("member", pk): True for pk in members})
        token = _batch.set(batch)
        try:
            yield
            if batch.entries:
                insert_entries(batch.entries)
                set_balances(chama.pk, {pk: batch.balances[pk] for pk in batch.moved})
            if batch.chain != start:
                set_chain_head(chama.pk, batch.chain)
        finally:
            _batch.reset(token)


def forget_accounts() -> None:
    """Drop what the current block cached (after rolling back to a savepoint inside it)."""
    cache = _cache.get()
    if cache is not None:
        cache.clear()


def cached(key: Any, read: Callable[[], Any]) -> Any:
    """`read()`, once per `account_cache()` block (every time outside one)."""
    cache = _cache.get()
    if cache is None:
        return read()
    if key not in cache:
        cache[key] = read()
    return cache[key]


def preload_accounts(chama: Chama, membership: Membership | None = None) -> None:
    """Read the chama's chart and the member's own accounts in one statement into the current
    `account_cache()` block (a no-op outside one, or when they were read already)."""
    cache = _cache.get()
    if cache is None:
        return
    wanted, params = [], []
    if ("chart", chama.pk) not in cache:
        wanted.append(
            f"({rows.col(Account, 'membership_id')} IS NULL AND {rows.col(Account, 'code')} IN {rows.in_list(CHART_CODES)})"
        )
        params += CHART_CODES
    if membership is not None and ("member", membership.pk) not in cache:
        wanted.append(f"{rows.col(Account, 'membership_id')} = %s")
        params.append(membership.pk)
        cache[("member", membership.pk)] = True
    if not wanted:
        return
    cache[("chart", chama.pk)] = True
    # In SQL written once (`chama.rows`): every payment reads its accounts here.
    for account in rows.fetch(
        Account, f"{rows.col(Account, 'chama_id')} = %s AND ({' OR '.join(wanted)})", [chama.pk, *params]
    ):
        cache.setdefault(("account", chama.pk, account.code), account)


def _account_by_code(chama_id: int, code: str, read: Callable[[], Account]) -> Account:
    return cached(("account", chama_id, code), read)


def _standard_account(chama: Chama, code: str) -> Account:
    def read() -> Account:
        account = Account.objects.filter(chama=chama, code=code).first()
        if account is None:
            ensure_chart(chama)
            account = Account.objects.get(chama=chama, code=code)
        return account

    return _account_by_code(chama.pk, code, read)


def chama_account(chama: Chama, purpose: str) -> Account:
    return _standard_account(chama, CHAMA_CODES[purpose])


# Where money paid or received by each method sits: a cheque is banked.
METHOD_ACCOUNTS = {"cash": A.CASH, "mpesa": A.MOBILE_MONEY, "bank": A.BANK, "cheque": A.BANK}


def method_account(chama: Chama, method: str, *, field: str = "method") -> Account:
    """The chama's account for money moved by `method` (cash, mpesa, bank, cheque); an unknown
    method is refused on `field`."""
    if method not in METHOD_ACCOUNTS:
        raise ValidationError({field: f"Unknown payment method {method!r}: use cash, mpesa, bank or cheque."})
    return chama_account(chama, METHOD_ACCOUNTS[method])


def expense_account(chama: Chama, category: str) -> Account:
    return _standard_account(chama, EXPENSE_CODES[category])


def _member_account_code(membership: Membership, purpose: str, savings_type: SavingsType | None = None) -> str:
    """The code of the member's account of this purpose (savings: one per savings type)."""
    prefix = MEMBER_ACCOUNTS[purpose][0]
    if purpose == A.MEMBER_SAVINGS:
        if savings_type is None:
            raise ValueError("A savings account needs its savings type.")
        return f"{prefix}-{savings_type.code}-{membership.pk:06d}"
    return f"{prefix}-{membership.pk:06d}"


def _member_account_spec(
    membership: Membership, purpose: str, savings_type: SavingsType | None = None
) -> tuple[str, dict[str, Any]]:
    """(code, fields) of the member's account of this purpose."""
    _, type_, label = MEMBER_ACCOUNTS[purpose]
    if purpose == A.MEMBER_SAVINGS:
        label = f"{savings_type.name} savings"
    return _member_account_code(membership, purpose, savings_type), {
        "name": f"{label} — {membership.member_number} {membership.user.get_full_name()}",
        "type": type_,
        "purpose": purpose,
        "membership": membership,
        "savings_type": savings_type,
    }


def member_account(membership: Membership, purpose: str, savings_type: SavingsType | None = None) -> Account:
    """The member's own account of this purpose, created on first use (read once per `account_cache()`)."""
    code = _member_account_code(membership, purpose, savings_type)

    def read() -> Account:
        _, fields = _member_account_spec(membership, purpose, savings_type)
        account, _ = Account.objects.get_or_create(chama_id=membership.chama_id, code=code, defaults=fields)
        return account

    return _account_by_code(membership.chama_id, code, read)


def loan_account(loan: Loan) -> Account:
    """The loan's own receivable account: its balance is the loan's outstanding principal."""
    account, _ = Account.objects.get_or_create(
        chama_id=loan.chama_id,
        code=f"1200-{loan.pk:06d}",
        defaults={
            "name": f"Loan #{loan.pk} — {loan.membership.member_number} {loan.membership.user.get_full_name()}",
            "type": T.ASSET,
            "purpose": A.LOAN_RECEIVABLE,
            "membership": loan.membership,
            "loan": loan,
        },
    )
    return account


def member_accounts(chama: Chama, memberships: Iterable[Membership], purpose: str) -> dict[int, Account]:
    """{membership id: account} for many members at once (month-end work): two or three queries."""
    specs = {m.pk: _member_account_spec(m, purpose) for m in memberships}
    codes = {code for code, _ in specs.values()}
    found = {a.code: a for a in Account.objects.filter(chama=chama, code__in=codes)}
    missing = [Account(chama=chama, code=code, **fields) for code, fields in specs.values() if code not in found]
    if missing:
        Account.objects.bulk_create(missing, ignore_conflicts=True)  # a new account has no balance to cache
        found = {a.code: a for a in Account.objects.filter(chama=chama, code__in=codes)}
    return {pk: found[code] for pk, (code, _) in specs.items()}


def describe(amount: Decimal, chama: Chama) -> str:
    return f"{shown(amount, chama.currency)}"


def post_journal(
    *,
    chama: Chama,
    kind: str,
    lines: Sequence[tuple[Account, Decimal]],
    value_date: date,
    memo: str = "",
    membership: Membership | None = None,
    external_reference: str = "",
    idempotency_key: str = "",
    created_by: User | None = None,
    reversal_of: Journal | None = None,
    loan: Loan | None = None,
    recorded_on: date | None = None,
) -> Journal:
    """Post one balanced journal. `lines` are (account, signed amount) pairs, debit positive.
    The value date must pass the one rule (`value_dates`); `recorded_on` is the day the money was
    recorded when that was before today (an expense posted when a second officer approves it)."""
    deltas = defaultdict(lambda: ZERO)
    accounts = {}
    for account, amount in lines:
        if account.chama_id != chama.pk:
            raise ValueError(f"Account {account} belongs to another chama.")
        deltas[account.pk] += to_money(amount)
        accounts[account.pk] = account
    deltas = {pk: amount for pk, amount in deltas.items() if amount}
    if not deltas:
        raise ValidationError("A journal needs at least one amount that is not zero.")
    if sum(deltas.values(), Decimal(0)) != 0:
        raise ValueError(f"Unbalanced journal: debits and credits differ by {sum(deltas.values())}.")

    if chama.status in CLOSED_STATUSES and kind != Journal.Kind.SUSPENSE_RECEIPT:
        # The last line behind the authority's gate: only money that has physically arrived is recorded.
        raise ValidationError(
            f"{chama} is {chama.get_status_display().lower()}: no money can move until it is active again."
        )
    value_dates.check(chama, value_date, loan=loan, recorded_on=recorded_on)
    journal_fields = dict(
        kind=kind,
        value_date=value_date,
        memo=memo[:255],
        membership=membership,
        external_reference=external_reference,
        idempotency_key=idempotency_key,
        created_by=created_by,
        reversal_of=reversal_of,
        loan=loan,
    )

    # No savepoint: nothing below is expected to fail once the guard has passed, and the guard
    # refuses before anything is written, outside the block, so the caller's transaction stays usable.
    with transaction.atomic(savepoint=False):
        batch = _batch.get()
        head = batch.chain if batch is not None else lock_chain(chama.pk)  # the chain, then the accounts
        before = _locked_balances(deltas, batch)
        after = {pk: before[pk] + amount for pk, amount in deltas.items()}
        refusal = _guard_refusal(chama, accounts, before, after)
        if refusal is None:
            journal = _write(chama, deltas, after, journal_fields, batch, head)
    if refusal is not None:
        raise refusal
    return journal


def _guard_refusal(
    chama: Chama, accounts: dict[int, Account], before: dict[int, Decimal], after: dict[int, Decimal]
) -> ValidationError | None:
    """The refusal of a posting that would take a guarded account below zero, if it would
    (`before` and `after`: the balances, debit positive, read under lock and as they would be)."""
    for pk, balance in after.items():
        account = accounts[pk]
        normal = balance if account.debit_normal else -balance
        if account.purpose in GUARDED and normal < 0:
            available = before[pk] if account.debit_normal else -before[pk]
            return ValidationError(
                f"Not enough in {account.name}: it holds {shown(available, chama.currency)}, "
                f"{shown(available - normal, chama.currency)} would be needed."
            )
    return None


def _locked_balances(deltas: dict[int, Decimal], batch: _Batch | None) -> dict[int, Decimal]:
    """The accounts' balances, locked: read now, or from the batch (which locks an account it has
    not seen, one made during it, the first time)."""
    if batch is None:
        return lock_accounts(deltas)
    unseen = [pk for pk in deltas if pk not in batch.balances]
    if unseen:
        batch.balances.update(lock_accounts(unseen))
    return {pk: batch.balances[pk] for pk in deltas}


def _write(
    chama: Chama,
    deltas: dict[int, Decimal],
    after: dict[int, Decimal],
    fields: dict[str, Any],
    batch: _Batch | None,
    head: list,
) -> Journal:
    """The journal on the chain after `head`, its entries and the balances (`ledger_writes`), under
    the chain's and the accounts' locks; in a batch, the entries, balances and the chain's head wait
    for the end of the batch."""
    journal = Journal(chama=chama, amount=sum((amount for amount in deltas.values() if amount > 0), ZERO), **fields)
    chain.chain_journal(journal, head, deltas.items())
    insert_journal(journal)
    entries = entries_of(journal, deltas=deltas, after=after)
    if batch is None:
        insert_entries(entries)
        set_balances(chama.pk, after)
        set_chain_head(chama.pk, head)
    else:
        batch.entries.extend(entries)
        batch.balances.update(after)
        batch.moved.update(after)
    transaction.on_commit(lambda: _announce(journal))
    return journal


def _announce(journal: Journal) -> None:
    """Tell `journal_posted`'s receivers, once the journal is committed; a receiver that fails is
    logged and does not stop the others (the money is recorded whatever they do)."""
    for receiver, outcome in journal_posted.send_robust(sender=Journal, journal=journal):
        if isinstance(outcome, Exception):
            logger.error(
                "journal_posted receiver %r failed for journal #%s",
                receiver,
                journal.pk,
                exc_info=(type(outcome), outcome, outcome.__traceback__),
            )


def find_posted(chama: Chama, *, external_reference: str = "", idempotency_key: str = "") -> Journal | None:
    """The journal already posted under this reference or key, if any (a replay)."""
    if external_reference:
        found = Journal.objects.filter(chama=chama, external_reference=external_reference).first()
        if found:
            return found
    if idempotency_key:
        return Journal.objects.filter(chama=chama, idempotency_key=idempotency_key).first()
    return None


def replay_for(
    journal: Journal, membership: Membership, amount: Decimal | None = None, loan: Loan | None = None
) -> Journal:
    """A replay must repeat the same posting: a reference or key reused for another member, loan
    or amount is refused rather than answered with someone else's journal."""
    if (
        journal.membership_id != membership.pk
        or (amount is not None and journal.amount != amount)
        or (loan is not None and journal.loan_id != loan.pk)
    ):
        raise ValidationError(
            {
                "reference": (
                    f"This reference or idempotency key was already used for journal #{journal.pk}, "
                    f"a different posting ({shown(journal.amount)}, for another member, loan or amount); use a new one."
                )
            }
        )
    return journal


def _replayed(journal: Journal, membership: Membership, amount: Decimal | None, loan: Loan | None) -> Journal:
    journal = replay_for(journal, membership, amount, loan)
    journal.replayed = True
    return journal


def post_once(
    membership: Membership,
    *,
    reference: str,
    idempotency_key: str,
    post: Callable[[], Journal],
    amount: Decimal | None = None,
    loan: Loan | None = None,
) -> Journal:
    """Run `post()` for the member unless this reference or key was posted already.

    The member's row is locked, so their postings happen one at a time; a replay (even one that
    raced us and committed first) returns the first journal instead of posting twice, with
    `journal.replayed` True so that the caller can tell (a journal posted now has it False).
    """
    chama = membership.chama
    # Inside `all_or_nothing()` (the collection sheet) no savepoint of its own (a refusal ends the
    # whole block), and the member is locked already.
    batch = _batch.get()
    with transaction.atomic(savepoint=batch is None), account_cache():
        if batch is None or membership.pk not in batch.members:
            lock_membership(membership.pk)
        if not (reference or idempotency_key):
            return post()
        replay = find_posted(chama, external_reference=reference, idempotency_key=idempotency_key)
        if replay is not None:
            return _replayed(replay, membership, amount, loan)
        try:
            # Under the member's lock a replay was found above; the key can still collide with a
            # posting for another member committed meanwhile, the one error expected here.
            with transaction.atomic():
                return post()
        except IntegrityError:
            forget_accounts()
            replay = find_posted(chama, external_reference=reference, idempotency_key=idempotency_key)
            if replay is None:
                raise
            return _replayed(replay, membership, amount, loan)
