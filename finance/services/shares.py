"""Shares: who sells them, at what price, how many a member may buy on a day, and the rows a
purchase leaves.

The price and the per-meeting limits are the running savings cycle's, or the policy's where the
chama runs no cycle (`terms`).

Both ways of buying shares use this module: a purchase at a meeting or through the API
(`savings.share_purchase`, its own journal) and the part of an M-Pesa payment that the policy
routes to shares (`dues.payment_record`, inside the payment's journal).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError

from chama.money import to_money
from finance.models import Journal, SavingsCycle, SharePurchase
from finance.selectors import savings as savings_reads
from finance.selectors import savings_cycles as savings_cycle_reads
from finance.services import ledger
from groups.models import Chama, Membership, Policy

SHARE_KINDS = {Chama.Kind.VSLA, Chama.Kind.ASCA, Chama.Kind.HYBRID, Chama.Kind.INVESTMENT_CLUB}


def terms(chama: Chama) -> SavingsCycle | Policy:
    """What sets the share price and the shares per meeting: the chama's open savings cycle, or
    its policy (both name them `share_price`, `shares_min_per_meeting`, `shares_max_per_meeting`)."""

    def read() -> SavingsCycle | Policy:
        cycle = savings_cycle_reads.open_cycle(chama=chama)
        return cycle if cycle is not None else chama.policy

    # Read once per transaction's account cache: a collection sheet asks for every member's shares.
    return ledger.cached(("share terms", chama.pk), read)


def check_per_meeting(membership: Membership, shares: int, day: date) -> None:
    """Refuse `shares` more on `day` if the day's total would leave the per-meeting range."""
    policy = terms(membership.chama)
    total = savings_reads.shares_bought_on(membership=membership, day=day) + shares
    if not policy.shares_min_per_meeting <= total <= policy.shares_max_per_meeting:
        raise ValidationError(
            {
                "shares": (
                    f"Members buy {policy.shares_min_per_meeting} to {policy.shares_max_per_meeting} shares per meeting; "
                    f"this would make {total} on {day:%d %b %Y}."
                )
            }
        )


def shares_affordable(membership: Membership, amount: Decimal, day: date, policy: SavingsCycle | Policy) -> int:
    """How many whole shares `amount` buys for the member on `day` on the `terms` given: at most
    the maximum per meeting less what they bought that day already, and none unless the day's total
    then reaches the minimum. 0 where the chama sells no shares. The member's row must be locked
    (`post_once`)."""
    chama = membership.chama
    if chama.kind not in SHARE_KINDS or policy.share_price <= 0 or amount <= 0:
        return 0
    already = savings_reads.shares_bought_on(membership=membership, day=day)
    shares = min(int(to_money(amount) // policy.share_price), max(policy.shares_max_per_meeting - already, 0))
    return shares if shares > 0 and already + shares >= policy.shares_min_per_meeting else 0


def purchase_record(
    *, journal: Journal, membership: Membership, shares: int, share_price: Decimal, value_date: date
) -> None:
    """The share row of a posted journal that credited the member's shares with `shares` × `share_price`."""
    SharePurchase.objects.append(
        [
            SharePurchase(
                chama=membership.chama,
                membership=membership,
                journal=journal,
                shares=shares,
                share_price=share_price,
                value_date=value_date,
            )
        ]
    )
