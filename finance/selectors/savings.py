"""Reads about savings and shares."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Sum

from chama.money import ZERO
from finance.models import Account, SavingsType, SharePurchase
from groups.models import Membership


def shares_held(*, membership: Membership) -> int:
    """How many shares the member holds: every purchase, less those reversed (a reversal adds a negative row)."""
    return SharePurchase.objects.filter(membership=membership).aggregate(n=Sum("shares"))["n"] or 0


def shares_bought_on(*, membership: Membership, day: date) -> int:
    """The shares the member bought on `day` (the policy caps purchases per meeting)."""
    return SharePurchase.objects.filter(membership=membership, value_date=day).aggregate(n=Sum("shares"))["n"] or 0


def savings_balance(*, membership: Membership, savings_type: SavingsType) -> Decimal:
    """What the member holds in one kind of savings (a credit balance, shown positive)."""
    account = Account.objects.filter(
        chama_id=membership.chama_id,
        membership=membership,
        purpose=Account.Purpose.MEMBER_SAVINGS,
        savings_type=savings_type,
    ).first()
    return account.normal_balance if account else ZERO
