"""Reads about welfare: the fund's balance and history, who is behind on welfare dues, and the
claims a person may see."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q, QuerySet, Sum

from chama.money import ZERO, to_money
from finance.models import Account, ContributionPlan, Due, Entry
from finance.services import ledger
from groups.models import Chama, Membership
from welfare.models import Claim


def fund_account(*, chama: Chama) -> Account:
    return ledger.chama_account(chama, Account.Purpose.WELFARE_FUND)


def fund_balance(*, chama: Chama) -> Decimal:
    """What the welfare fund holds (its account's balance, as people read it)."""
    return fund_account(chama=chama).normal_balance


def fund_history(*, chama: Chama) -> QuerySet[Entry]:
    """Every movement of the fund, newest first, with its journal: contributions and levies in,
    claims paid out; each entry's `balance_after` is the fund after it."""
    return (
        Entry.objects.filter(account=fund_account(chama=chama))
        .select_related("journal__membership__user")
        .order_by("-id")
    )


class Behind(NamedTuple):
    membership: Membership
    owed: Decimal


def members_behind(*, chama: Chama) -> list[Behind]:
    """Members late with welfare contributions or levies, most owed first."""
    late = (
        Due.objects.filter(chama=chama, plan__target=ContributionPlan.Target.WELFARE, status=Due.Status.OVERDUE)
        .values("membership")
        .annotate(owed=Sum("amount") - Sum("paid_amount") - Sum("waived_amount"))
        .order_by("-owed")
    )
    owed = {row["membership"]: to_money(row["owed"] or ZERO) for row in late}
    members = Membership.objects.filter(pk__in=owed).select_related("user").in_bulk()
    return [Behind(members[pk], amount) for pk, amount in owed.items() if amount > 0]


def visible_claims(*, chama: Chama, membership_id: int | None, everyone: bool) -> QuerySet[Claim]:
    """The claims a person sees: every claim for an officer (`everyone`); for a member, their own
    and the paid claims of schemes that show them to members."""
    claims = Claim.objects.filter(chama=chama).select_related("scheme", "membership__user")
    if everyone:
        return claims
    return claims.filter(
        Q(membership_id=membership_id) | Q(status=Claim.Status.PAID, scheme__members_see_paid_claims=True)
    )


def fund_report(*, chama: Chama, history: int, with_arrears: bool) -> dict[str, object]:
    """The fund's balance, its latest `history` movements (in and out, with the fund after each)
    and, `with_arrears`, who is behind on welfare dues."""
    movements = [
        {
            "journal": entry.journal_id,
            "date": entry.journal.value_date,
            "kind": entry.journal.get_kind_display(),
            "memo": entry.journal.memo,
            "amount_in": -entry.amount if entry.amount < 0 else None,
            "amount_out": entry.amount if entry.amount > 0 else None,
            "balance": -entry.balance_after,
        }
        for entry in fund_history(chama=chama)[:history]
    ]
    return {
        "balance": fund_balance(chama=chama),
        "history": movements,
        "members_behind": members_behind(chama=chama) if with_arrears else None,
    }
