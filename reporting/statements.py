"""Financial statements of a chama, from the ledger alone: each is one or two aggregate queries over
the chama's entries, dated by their journals' value dates, whatever the number of members or the
length of the history.

- **Balance sheet** on a day: every account's balance then, members' accounts added up by kind
  (savings, shares, fines owed, advances; loans). Assets = liabilities + equity + the surplus not
  yet closed to retained earnings (income − expenses since the last share-out).
- **Income statement** for a period: each income and expense account's movement in it, leaving out
  the journals that close income to retained earnings at a share-out.
- **Cash book** of one channel (cash, bank, M-Pesa) for a period: the opening balance, every
  movement with the balance after it, and the closing balance.
- **Members' funds** on a day: each member's savings, shares, advances, fines owed and loans.
- **Contribution compliance**: members × periods, what each paid of what each owed.
- **Trial balance** on a day: every account's debit or credit, members' accounts added up by kind.
- **Loan portfolio** on a day: outstanding principal by days in arrears, PAR30 / 60 / 90, the
  arrears ratio, and what was written off and recovered.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from chama.money import ZERO, to_money
from finance.models import Account, Due, Entry, Journal, Loan
from finance.selectors.dues import dues_matrix
from finance.selectors.loans import portfolio
from groups.models import Chama, Membership
from reporting.tables import Table

A = Account.Purpose
T = Account.Type
SECTIONS = [("Assets", T.ASSET), ("Liabilities", T.LIABILITY), ("Equity", T.EQUITY)]
# Members' own accounts (and loans), added up by kind on the statements.
MEMBER_KINDS = {
    A.MEMBER_SAVINGS: "Members' savings",
    A.MEMBER_SHARES: "Members' shares",
    A.MEMBER_ADVANCE: "Members' advance payments",
    A.FINES_RECEIVABLE: "Fines owed by members",
    A.LOAN_RECEIVABLE: "Loans to members",
}
CHANNELS = {"cash": A.CASH, "bank": A.BANK, "mpesa": A.MOBILE_MONEY}


def _entries(chama: Chama) -> Q:
    return Q(chama=chama)


def _normal(account_type: str, amount: Decimal) -> Decimal:
    """A debit-positive sum as people read it on the account's side."""
    return amount if account_type in (T.ASSET, T.EXPENSE) else -amount


def _account_sums(chama: Chama, dated: Q) -> dict[int, Decimal]:
    rows = (
        Entry.objects.filter(_entries(chama) & dated)
        .values("account")
        .annotate(total=Sum("amount"))
        .values_list("account", "total")
    )
    # Rounded to the cent here: SQLite adds decimals in floating point.
    return {account: to_money(total or ZERO) for account, total in rows}


def trial_balance(*, chama: Chama, as_of: date) -> Table:
    """Every account's debit or credit balance on a day, members' accounts added up by kind; the
    two columns' totals are equal (the ledger's first check, and what the other statements tie to)."""
    sums = _account_sums(chama, Q(journal__value_date__lte=as_of))
    lines: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for account in Account.objects.filter(chama=chama, pk__in=sums).order_by("code"):
        label = MEMBER_KINDS.get(account.purpose) if account.membership_id else None
        lines[label or f"{account.code} {account.name}"] += sums[account.pk]
    table = Table(
        title=f"Trial balance of {chama} on {as_of:%d %b %Y}",
        columns=["Account", "Debit", "Credit"],
        notes=[f"{chama}; balances on {as_of:%d %b %Y}, from the ledger's entries dated up to that day."],
    )
    debits = credits = ZERO
    for label, amount in lines.items():
        if amount:
            debit, credit = max(amount, ZERO), max(-amount, ZERO)
            table.rows.append([label, debit or None, credit or None])
            debits, credits = debits + debit, credits + credit
    table.totals = ["Total", debits, credits]
    table.notes.append(f"Debits {debits:,.2f} = credits {credits:,.2f}.")
    return table


def balance_sheet(*, chama: Chama, as_of: date) -> Table:
    sums = _account_sums(chama, Q(journal__value_date__lte=as_of))
    accounts = Account.objects.filter(chama=chama, pk__in=sums).order_by("code")
    lines: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    surplus = ZERO
    for account in accounts:
        amount = _normal(account.type, sums[account.pk])
        if account.type in (T.INCOME, T.EXPENSE):
            surplus += amount if account.type == T.INCOME else -amount
            continue
        label = MEMBER_KINDS.get(account.purpose) if account.membership_id else None
        lines[account.type][label or f"{account.code} {account.name}"] += amount
    table = Table(
        title=f"Balance sheet of {chama} on {as_of:%d %b %Y}",
        columns=["Section", "Account", "Amount"],
        notes=[f"{chama}; balances on {as_of:%d %b %Y}, from the ledger's entries dated up to that day."],
    )
    totals = {}
    for section, account_type in SECTIONS:
        for label, amount in lines[account_type].items():
            if amount:
                table.rows.append([section, label, amount])
        if account_type == T.EQUITY and surplus:
            table.rows.append([section, "Surplus not yet closed (income − expenses)", surplus])
        totals[account_type] = sum(lines[account_type].values(), ZERO) + (surplus if account_type == T.EQUITY else ZERO)
        table.rows.append([f"Total {section.lower()}", "", totals[account_type]])
    table.totals = ["Liabilities and equity", "", totals[T.LIABILITY] + totals[T.EQUITY]]
    table.notes.append(
        f"Assets {totals[T.ASSET]:,.2f} = liabilities and equity {totals[T.LIABILITY] + totals[T.EQUITY]:,.2f}."
    )
    return table


def _closing_journals() -> Q:
    """The share-out's journal that closes income to retained earnings (the one without a member)."""
    return Q(journal__kind=Journal.Kind.SHARE_OUT, journal__membership__isnull=True)


def income_statement(*, chama: Chama, start: date, end: date) -> Table:
    dated = Q(journal__value_date__gte=start, journal__value_date__lte=end) & ~_closing_journals()
    sums = _account_sums(chama, dated & Q(account__type__in=[T.INCOME, T.EXPENSE]))
    accounts = Account.objects.filter(chama=chama, pk__in=sums).order_by("code")
    table = Table(
        title=f"Income statement of {chama}, {start:%d %b %Y} to {end:%d %b %Y}",
        columns=["Section", "Account", "Amount"],
        notes=[f"{chama}; journals dated {start:%d %b %Y} to {end:%d %b %Y}, the share-out's closing left out."],
    )
    income = expenses = ZERO
    for kind, section in ((T.INCOME, "Income"), (T.EXPENSE, "Expenses")):
        for account in accounts:
            if account.type == kind and sums[account.pk]:
                amount = _normal(kind, sums[account.pk])
                table.rows.append([section, f"{account.code} {account.name}", amount])
                if kind == T.INCOME:
                    income += amount
                else:
                    expenses += amount
        table.rows.append([f"Total {section.lower()}", "", income if kind == T.INCOME else expenses])
    table.totals = ["Surplus (deficit)", "", income - expenses]
    return table


def cash_book(*, chama: Chama, channel: str, start: date, end: date) -> Table:
    purpose = CHANNELS[channel]
    account = Account.objects.filter(chama=chama, purpose=purpose, membership__isnull=True).first()
    opening = to_money(
        (
            Entry.objects.filter(account=account, journal__value_date__lt=start).aggregate(total=Sum("amount"))["total"]
            if account
            else None
        )
        or ZERO
    )
    table = Table(
        title=f"Cash book of {chama}: {dict(Account.Purpose.choices)[purpose]}, {start:%d %b %Y} to {end:%d %b %Y}",
        columns=["Date", "Journal", "Details", "In", "Out", "Balance"],
        notes=[f"{chama}; opening balance on {start:%d %b %Y}: {opening:,.2f}."],
    )
    balance = opening
    table.rows.append([start, "", "Opening balance", None, None, opening])
    entries = (
        Entry.objects.filter(account=account, journal__value_date__gte=start, journal__value_date__lte=end)
        .select_related("journal")
        .order_by("journal__value_date", "id")
        if account
        else []
    )
    money_in = money_out = ZERO
    for entry in entries:
        balance += entry.amount
        amount_in = entry.amount if entry.amount > 0 else None
        amount_out = -entry.amount if entry.amount < 0 else None
        money_in += amount_in or ZERO
        money_out += amount_out or ZERO
        table.rows.append(
            [
                entry.journal.value_date,
                entry.journal_id,
                entry.journal.memo or entry.journal.get_kind_display(),
                amount_in,
                amount_out,
                balance,
            ]
        )
    table.totals = [end, "", "Closing balance", money_in, money_out, balance]
    return table


def members_funds(*, chama: Chama, as_of: date) -> Table:
    """Each member's savings, shares, advances, fines owed and loans on the day; the totals tie to
    the balance sheet's member lines."""
    rows = (
        Entry.objects.filter(_entries(chama), journal__value_date__lte=as_of, account__membership__isnull=False)
        .values("account__membership", "account__purpose")
        .annotate(total=Sum("amount"))
        .values_list("account__membership", "account__purpose", "total")
    )
    kinds = list(MEMBER_KINDS)
    per_member: dict[int, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(kinds, ZERO))
    for membership_id, purpose, total in rows:
        if purpose in per_member[membership_id]:
            debit_normal = purpose in (A.FINES_RECEIVABLE, A.LOAN_RECEIVABLE)
            total = to_money(total or ZERO)
            per_member[membership_id][purpose] += total if debit_normal else -total
    members = Membership.objects.filter(pk__in=per_member).select_related("user").order_by("member_number")
    table = Table(
        title=f"Members' funds in {chama} on {as_of:%d %b %Y}",
        columns=["Member", "Name", *MEMBER_KINDS.values()],
        notes=[f"{chama}; members' balances on {as_of:%d %b %Y}."],
    )
    totals = dict.fromkeys(kinds, ZERO)
    for membership in members:
        amounts = per_member[membership.pk]
        table.rows.append([membership.member_number, membership.user.get_full_name(), *amounts.values()])
        for kind in kinds:
            totals[kind] += amounts[kind]
    table.totals = ["Total", "", *totals.values()]
    return table


def year_bounds(today: date) -> tuple[date, date]:
    """This calendar year up to today: the statements' default period."""
    return today.replace(month=1, day=1), today


def member_statement(*, membership: Membership, start: date, end: date) -> Table:
    """Every movement on a member's accounts in a period, as the member reads it: what raised or
    lowered each account, and the account's balance after it; the opening and closing balance of
    each account in the notes. Read from the chama's journals of the period onwards (by their value
    dates' index), never from the whole history: the opening balance is the account's balance less
    what moved on it since the period began."""
    chama = membership.chama
    accounts = list(Account.objects.filter(chama=chama, membership=membership).order_by("code"))
    since = Journal.objects.filter(chama=chama, value_date__gte=start)
    moved_since = _account_sums(chama, Q(account__in=accounts, journal__in=since.values("pk")))
    table = Table(
        title=f"Statement of {membership.member_number} {membership.user.get_full_name()}, {chama}",
        columns=["Date", "Journal", "Account", "Details", "Amount", "Balance"],
        notes=[f"{chama}; {start:%d %b %Y} to {end:%d %b %Y}."],
    )
    entries = (
        Entry.objects.filter(account__in=accounts, journal__in=since.filter(value_date__lte=end).values("pk"))
        .select_related("journal", "account")
        .order_by("journal__value_date", "id")
    )
    moved: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        account = entry.account
        amount = _normal(account.type, entry.amount)
        moved[account.pk] += amount
        table.rows.append(
            [
                entry.journal.value_date,
                entry.journal_id,
                account.get_purpose_display(),
                entry.journal.memo or entry.journal.get_kind_display(),
                amount,
                _normal(account.type, entry.balance_after),
            ]
        )
    for account in accounts:
        opening = account.normal_balance - _normal(account.type, moved_since.get(account.pk, ZERO))
        closing = opening + moved[account.pk]
        if opening or closing:
            table.notes.append(
                f"{account.get_purpose_display()}: {opening:,.2f} on {start:%d %b %Y}, {closing:,.2f} on {end:%d %b %Y}."
            )
    return table


def compliance(*, chama: Chama, periods: int = 12) -> Table:
    """Members × the last `periods` contribution periods: what each paid of what each owed, with
    the totals of each period, which add up to the dues ledger."""
    matrix = dues_matrix(chama=chama, kind=Due.Kind.CONTRIBUTION, periods_shown=periods)
    table = Table(
        title=f"Contribution compliance of {chama}",
        columns=["Member", "Name", *matrix["columns"], "Paid", "Owed"],
        notes=[f"{chama}; each cell: paid / owed for the period's contributions (the last {periods} periods)."],
    )
    column_paid = [ZERO] * len(matrix["columns"])
    column_owed = [ZERO] * len(matrix["columns"])
    for row in matrix["rows"]:
        cells, paid_total, owed_total = [], ZERO, ZERO
        for index, dues in enumerate(row["cells"]):
            paid = sum((due.paid_amount for due in dues), ZERO)
            owed = sum((due.amount - due.waived_amount for due in dues), ZERO)
            cells.append(f"{paid:,.2f} / {owed:,.2f}" if dues else "")
            column_paid[index] += paid
            column_owed[index] += owed
            paid_total += paid
            owed_total += owed
        membership = row["membership"]
        table.rows.append([membership.member_number, membership.user.get_full_name(), *cells, paid_total, owed_total])
    totals = [f"{paid:,.2f} / {owed:,.2f}" for paid, owed in zip(column_paid, column_owed, strict=True)]
    table.totals = ["Total", "", *totals, sum(column_paid, ZERO), sum(column_owed, ZERO)]
    return table


def loan_portfolio(*, chama: Chama, as_of: date) -> Table:
    """Outstanding principal by days in arrears, PAR30 / 60 / 90, the arrears ratio, and what was
    written off and recovered (three queries)."""
    figures = portfolio(chama=chama, as_of=as_of)
    table = Table(
        title=f"Loan portfolio of {chama} on {as_of:%d %b %Y}",
        columns=["Measure", "Amount", "Share of the portfolio"],
        notes=[f"{chama}; {figures['loans']} loan(s) outstanding on {as_of:%d %b %Y}."],
    )
    total = figures["outstanding_principal"]
    labels = dict(Loan.Classification.choices)
    for bucket, amount in figures["buckets"].items():
        share = f"{amount * 100 / total:.2f}%" if total else ""
        table.rows.append([f"Outstanding: {labels[bucket]}", amount, share])
    for days in (30, 60, 90):
        at_risk, percent = figures[f"par{days}"]
        table.rows.append([f"PAR{days}: a payment more than {days} days late", at_risk, f"{percent:.2f}%"])
    arrears = figures["principal_in_arrears"]
    table.rows.append(
        ["Arrears: principal of installments past due", arrears, f"{arrears * 100 / total:.2f}%" if total else ""]
    )
    losses = _account_sums(
        chama,
        Q(journal__value_date__lte=as_of, account__purpose__in=[A.LOAN_LOSS, A.RECOVERIES_INCOME])
        & ~_closing_journals(),
    )
    by_purpose = defaultdict(lambda: ZERO)
    for account in Account.objects.filter(pk__in=losses).only("purpose"):
        by_purpose[account.purpose] += losses[account.pk]
    table.rows.append(["Written off, to the day", by_purpose[A.LOAN_LOSS], ""])
    table.rows.append(["Recovered after write-off, to the day", -by_purpose[A.RECOVERIES_INCOME], ""])
    table.totals = ["Outstanding principal", total, "100.00%" if total else ""]
    table.notes.append(
        "Days in arrears and the arrears are the loans' as they stand now; write-offs and recoveries "
        "are the ledger's, net of reversals."
    )
    return table
