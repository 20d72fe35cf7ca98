"""Payments through `payment_record` against the raw floor, and `reconcile_balances`, on the seeded ledger.

Rows: a payment's rate on one thread and on eight (each thread on a chama of its own) as a share
of the raw floor measured in the same run, and reconcile_balances over every chama.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from benchmarks.suite import row

PAYMENTS = 100
THREADS = 8


def _payers(chamas: int, per_chama: int) -> list[list[tuple[Any, Any]]]:
    """[[(membership, treasurer)] for each of `chamas` seeded chamas], plain members of chamas without hot members."""
    from finance.management.commands.seed_scale import hot_memberships
    from groups.models import Chama, Membership

    hot = set(hot_memberships().values_list("chama_id", flat=True))
    # The seeded chamas (the first ones): other benchmarks add chamas of their own to the database.
    picked = list(Chama.objects.exclude(pk__in=hot).filter(memberships__role="treasurer").order_by("pk")[:chamas])
    groups = []
    for chama in picked:
        treasurer = Membership.objects.get(chama=chama, role="treasurer").user
        members = Membership.objects.filter(chama=chama, role="member").select_related("chama__policy", "user")[
            :per_chama
        ]
        groups.append([(m, treasurer) for m in members])
    return groups


def _pay(pairs) -> None:
    from finance.services.dues import payment_record

    for membership, treasurer in pairs:
        payment_record(membership=membership, amount=Decimal("500.00"), method="cash", by=treasurer)


def rows(bench) -> list[dict[str, Any]]:
    from django.core.management import call_command

    floor = bench.floor_rate()
    single = [pair for group in _payers(4, PAYMENTS // 4) for pair in group]
    rate = len(single) / bench.median(lambda: _pay(single))
    groups = _payers(THREADS, PAYMENTS // THREADS)
    count = sum(len(g) for g in groups)
    threaded = count / bench.median(lambda: bench.threads(THREADS, lambda i: _pay(groups[i])))
    reconcile = bench.median(lambda: call_command("reconcile_balances", stdout=bench.quiet, stderr=bench.quiet))
    return [
        row(
            "raw floor: 1 journal + 2 entries + 2 balance updates, one commit",
            goal="(reference)",
            measured=f"{floor:,.0f} journals/s",
            ratio="100%",
            passed=True,
        ),
        row(
            "payment_record, 1 thread",
            goal="≥ 30% of the floor (aim 50%)",
            measured=f"{rate:,.0f} journals/s",
            ratio=f"{rate / floor:.1%}",
            passed=rate / floor >= 0.30,
        ),
        row(
            f"payment_record, {THREADS} threads",
            goal="≥ 1 thread, ≥ 30% of the floor",
            measured=f"{threaded:,.0f} journals/s",
            ratio=f"{threaded / floor:.1%}",
            passed=threaded >= rate and threaded / floor >= 0.30,
        ),
        row("reconcile_balances, every chama", goal="≤ 1 s", measured=f"{reconcile:.2f} s", passed=reconcile <= 1.0),
    ]
