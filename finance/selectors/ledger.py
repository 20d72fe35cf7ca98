"""Read queries shared by the API, the admin and the commands."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Prefetch, Q, QuerySet, Sum

from chama.money import ZERO
from finance.models import Account, Entry, Journal

if TYPE_CHECKING:
    from groups.models import Chama


def statement(*, account: Account) -> QuerySet[Entry]:
    """The account's entries, oldest first, with the journal; `balance_after` is the running balance.
    Read through the `(account, id)` index; the chama names the node that holds them when the
    tables are distributed by chama."""
    return Entry.objects.filter(chama_id=account.chama_id, account=account).select_related("journal").order_by("id")


def trial_balance(*, chama: Chama) -> tuple[list[tuple[Account, Decimal, Decimal]], Decimal, Decimal]:
    """[(account, debit, credit)] for every account with a balance, and the totals; they are equal."""
    rows = []
    for account in Account.objects.filter(chama=chama).exclude(balance=0).order_by("code"):
        rows.append(
            (
                account,
                account.balance if account.balance > 0 else ZERO,
                -account.balance if account.balance < 0 else ZERO,
            )
        )
    total_debit = sum((debit for _, debit, _ in rows), ZERO)
    total_credit = sum((credit for _, _, credit in rows), ZERO)
    return rows, total_debit, total_credit


def unbalanced_journals(*, chama: Chama | None = None) -> QuerySet[Journal]:
    """Journals whose entries do not sum to zero (off by half a cent or more: SQLite sums in floating point)."""
    journals = Journal.objects.all() if chama is None else Journal.objects.filter(chama=chama)
    half_cent = Decimal("0.005")
    return journals.annotate(total=Sum("entries__amount")).filter(Q(total__gte=half_cent) | Q(total__lte=-half_cent))


def journals_with_entries(*, journals: QuerySet[Journal] | None = None) -> QuerySet[Journal]:
    """Journals as the API shows them: who they concern, who posted and reversed them, and every entry
    with its account, in a fixed number of queries however many journals there are."""
    journals = Journal.objects.all() if journals is None else journals
    return journals.select_related("membership", "created_by").prefetch_related("entries__account", "reversals")


# What a member's own list of journals shows (`MyJournalSerializer`): the journal's own columns, and
# of each entry its amount and its account's name, type, purpose and member.
MEMBER_JOURNAL_FIELDS = (
    "id",
    "chama_id",
    "kind",
    "value_date",
    "created_date",
    "memo",
    "amount",
    "external_reference",
    "reversal_of_id",
)
MEMBER_ENTRY_FIELDS = (
    "journal_id",
    "amount",
    "account__name",
    "account__type",
    "account__purpose",
    "account__membership_id",
)


def member_journals() -> QuerySet[Journal]:
    """Journals as a member's own list shows them, in three queries a page whatever its length (the
    journals, their entries with their accounts, what reversed them), reading only the columns
    shown: a page is fifty journals and a hundred entries, and building whole rows was most of its
    time. The entries are `journal.entry_list`, the reversals `journal.reversal_list`."""
    entries = Entry.objects.select_related("account").only(*MEMBER_ENTRY_FIELDS).order_by("id")
    reversals = Journal.objects.only("id", "reversal_of_id")
    # Kept as plain lists (`to_attr`): Django then builds no queryset per journal to hold them.
    return Journal.objects.only(*MEMBER_JOURNAL_FIELDS).prefetch_related(
        Prefetch("entries", queryset=entries, to_attr="entry_list"),
        Prefetch("reversals", queryset=reversals, to_attr="reversal_list"),
    )
