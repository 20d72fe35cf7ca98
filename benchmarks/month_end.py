"""How long month-end takes at scale (PostgreSQL): generate_dues + apply_penalties, and reconcile_balances.

    createdb -h 127.0.0.1 -U postgres chama_month_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chama_month_bench .venv/bin/python benchmarks/month_end.py \\
        --chamas 1000 --members 30 --entries 1100000 --drift 62000

Empties the database (its name must contain "bench"), then builds N chamas × M members set-based
(`build_chamas`): users, chamas and their policies, memberships, a regular contribution plan each
(monthly; every 7th chama weekly, every 11th fortnightly; every 5th fines each late period, the
others once; every 10th chama in Lagos time), the chart of accounts, and each member's savings
account. `build_ledger` adds savings deposits (cash ↔ member savings, 2 entries each) until the
ledger holds the asked number of entries and sets every balance to its entries' sum.

Then it times, through the management commands a treasurer runs:
- month-end, first run: `generate_dues` for last month (every due of it is late today) and this
  month, then `apply_penalties` (a late fine for every member of every chama);
- month-end with nothing to do: the same again (median of 3);
- `reconcile_balances` with no drift (median of 3);
- `reconcile_balances --fix` after K account balances were moved off their entries (median of 3).
It prints one table: what, seconds, SQL statements. The builders are importable
(`build_chamas`, `build_ledger`, `drift_balances`) and `measure(...)` returns the rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import QuerySet  # noqa: E402

from chama.models import User  # noqa: E402
from chama.roles import MembershipStatus, Role  # noqa: E402
from finance.models import Account, ContributionPlan, SavingsType  # noqa: E402
from finance.services import ledger  # noqa: E402
from groups.models import Chama, Membership, Policy  # noqa: E402

A = Account.Purpose
BATCH = 5000


def build_chamas(chamas: int, members: int, *, founded: date = date(2025, 1, 1)) -> list[int]:
    """N active chamas of M active members each, with a policy (KES 1,000 a period, KES 100 late
    fine), a regular contribution plan, the chart of accounts and a savings account per member:
    bulk inserts, a few statements per thousand rows. Returns the chamas' ids."""
    first = (Chama.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    made = Chama.objects.bulk_create(
        [
            Chama(
                name=f"Bench chama {first + n}",
                status=Chama.Status.ACTIVE,
                founded_date=founded,
                timezone="Africa/Lagos" if n % 10 == 9 else "Africa/Nairobi",
                members_count=members,
            )
            for n in range(chamas)
        ],
        batch_size=BATCH,
    )
    ids = [chama.pk for chama in made]
    policies = []
    for n, pk in enumerate(ids):
        frequency = "weekly" if n % 7 == 6 else "fortnightly" if n % 11 == 10 else "monthly"
        policies.append(
            Policy(
                chama_id=pk,
                contribution_amount=Decimal("1000"),
                contribution_frequency=frequency,
                contribution_due_day=5 if frequency == "monthly" else 2,
                grace_days=3,
                late_fine_amount=Decimal("100"),
                late_fine_recurrence=Policy.FineRecurrence.EVERY_PERIOD if n % 5 == 4 else Policy.FineRecurrence.ONCE,
            )
        )
    Policy.objects.bulk_create(policies, batch_size=BATCH)
    ContributionPlan.objects.bulk_create(
        [
            ContributionPlan(
                chama_id=policy.chama_id,
                name="Regular contribution",
                amount=policy.contribution_amount,
                frequency=policy.contribution_frequency,
                due_day=policy.contribution_due_day,
                grace_days=policy.grace_days,
                start_date=founded,
            )
            for policy in policies
        ],
        batch_size=BATCH,
    )
    savings_types = SavingsType.objects.bulk_create(
        [SavingsType(chama_id=pk, name="Regular", code="REG", is_default=True) for pk in ids], batch_size=BATCH
    )
    Account.objects.bulk_create(
        [
            Account(chama_id=pk, code=code, name=name, type=type_, purpose=purpose)
            for pk in ids
            for code, name, type_, purpose in ledger.CHART
        ],
        batch_size=BATCH,
    )
    start = (User.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    users = User.objects.bulk_create(
        [
            User(phone_number=f"+2547{start + n:08d}", first_name="Member", last_name=f"{start + n}", password="!")
            for n in range(chamas * members)
        ],
        batch_size=BATCH,
    )
    # The chamas' members_count was set above, so the memberships may skip the signals that keep it.
    memberships = QuerySet(Membership).bulk_create(
        [
            Membership(
                chama_id=pk,
                user=users[c * members + m],
                member_number=f"M{m + 1:03d}",
                role=Role.TREASURER if m == 0 else Role.MEMBER,
                status=MembershipStatus.ACTIVE,
                joined_date=founded,
            )
            for c, pk in enumerate(ids)
            for m in range(members)
        ],
        batch_size=BATCH,
    )
    type_of = {savings_type.chama_id: savings_type for savings_type in savings_types}
    Account.objects.bulk_create(
        [
            Account(
                chama_id=membership.chama_id,
                code=f"2000-REG-{membership.pk:06d}",
                name=f"Regular savings — {membership.member_number}",
                type=Account.Type.LIABILITY,
                purpose=A.MEMBER_SAVINGS,
                membership_id=membership.pk,
                savings_type=type_of[membership.chama_id],
            )
            for membership in memberships
        ],
        batch_size=BATCH,
    )
    return ids


def build_ledger(entries: int) -> int:
    """Savings deposits (KES 10: cash debited, a member's savings credited), spread over every member,
    until the ledger holds `entries` entries; then every account balance is its entries' sum.
    PostgreSQL only (generate_series). Returns the entries added."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM finance_entry")
        missing = (entries - cursor.fetchone()[0]) // 2
        if missing <= 0:
            return 0
        cursor.execute(
            """
            WITH savers AS (
                SELECT row_number() OVER (ORDER BY id) - 1 AS n, chama_id, membership_id
                FROM finance_account WHERE purpose = %s
            ), counted AS (SELECT COUNT(*) AS total FROM savers)
            INSERT INTO finance_journal (created_date, updated_date, chama_id, kind, value_date, memo, amount,
                                         external_reference, idempotency_key, membership_id)
            SELECT now(), now(), s.chama_id, %s, DATE '2025-02-01' + (g %% 300), 'bench deposit', 10.00, '', '',
                   s.membership_id
            FROM generate_series(0, %s - 1) AS g CROSS JOIN counted JOIN savers s ON s.n = g %% counted.total
            """,
            [A.MEMBER_SAVINGS.value, "savings_deposit", missing],
        )
        cursor.execute(
            """
            INSERT INTO finance_entry (created_date, updated_date, chama_id, journal_id, account_id, amount,
                                       balance_after)
            SELECT now(), now(), j.chama_id, j.id, x.account_id, x.amount, 0
            FROM finance_journal j
            JOIN finance_account s ON s.membership_id = j.membership_id AND s.purpose = %s
            JOIN finance_account c ON c.chama_id = j.chama_id AND c.code = '1000'
            CROSS JOIN LATERAL (VALUES (c.id, 10.00), (s.id, -10.00)) AS x(account_id, amount)
            WHERE j.memo = 'bench deposit'
              AND NOT EXISTS (SELECT 1 FROM finance_entry e WHERE e.journal_id = j.id)
            """,
            [A.MEMBER_SAVINGS.value],
        )
        cursor.execute(
            """
            UPDATE finance_account a SET balance = s.total
            FROM (SELECT account_id, SUM(amount) AS total FROM finance_entry GROUP BY account_id) s
            WHERE a.id = s.account_id AND a.balance <> s.total
            """
        )
        cursor.execute("ANALYZE")
    return missing * 2


def drift_balances(count: int) -> int:
    """Move `count` account balances one shilling off their entries (what reconcile --fix repairs)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE finance_account SET balance = balance + 1 WHERE id IN (SELECT id FROM finance_account ORDER BY id LIMIT %s)",
            [count],
        )
        return cursor.rowcount


def timed(command: str, *args: str) -> tuple[float, int, str]:
    """(seconds, SQL statements, outcome) of one run of a management command."""
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    with open(os.devnull, "w") as out, connection.execute_wrapper(count):
        started = time.perf_counter()
        try:
            call_command(command, *args, stdout=out, stderr=out)
            outcome = "ok"
        except CommandError as exc:
            outcome = str(exc)[:60]
        seconds = time.perf_counter() - started
    return seconds, statements, outcome


def month_end(last_month: tuple[int, int]) -> tuple[float, int]:
    runs = [
        timed("generate_dues", "--period", f"{last_month[0]}-{last_month[1]:02d}"),
        timed("generate_dues"),
        timed("apply_penalties"),
    ]
    return sum(run[0] for run in runs), sum(run[1] for run in runs)


def median_of(runs: int, job) -> tuple[float, int]:
    results = [job() for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def measure(*, drift: int, runs: int = 3) -> list[tuple[str, float, int, str]]:
    """Time month-end (first run, then nothing to do), reconcile, and reconcile --fix after `drift`
    balances moved; returns [(what, seconds, statements, goal)]."""
    today = date.today()
    last = (today.replace(day=1) - timedelta(days=1)).timetuple()[:2]
    rows = []
    seconds, statements = month_end(last)
    rows.append(("month-end first run (generate_dues ×2 + apply_penalties)", seconds, statements, "≤ 30 s"))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a month-end's inserts
    seconds, statements = median_of(runs, lambda: month_end(last))
    rows.append(("month-end, nothing to do", seconds, statements, "≤ 2 s"))
    seconds, statements = median_of(runs, lambda: timed("reconcile_balances")[:2])
    rows.append(("reconcile_balances, no drift", seconds, statements, "≤ 1 s"))

    def fix():
        drift_balances(drift)
        return timed("reconcile_balances", "--fix")[:2]

    seconds, statements = median_of(runs, fix)
    rows.append((f"reconcile_balances --fix, {drift:,} drifted", seconds, statements, "≤ 3 s"))
    return rows


def rows(bench) -> list[dict]:
    """The suite's rows (`benchmarks/__init__.py`) on the seeded ledger: month-end (generate_dues for
    last month and this one, then apply_penalties) the first time this database sees the month, the
    same again with nothing to do, and reconcile_balances --fix after 62,000 balances (or every
    account, if fewer) are moved off their entries."""
    from benchmarks.suite import row

    today = date.today()
    last = (today.replace(day=1) - timedelta(days=1)).timetuple()[:2]
    first, first_statements = month_end(last)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    again, again_statements = median_of(bench.runs, lambda: month_end(last))

    def fix():
        drift_balances(62_000)
        return timed("reconcile_balances", "--fix")[:2]

    fixed, _ = median_of(bench.runs, fix)
    return [
        row(
            "generate_dues + apply_penalties, first run",
            goal="≤ 30 s",
            measured=f"{first:.1f} s, {first_statements:,} statements (a no-op if this database saw the month)",
            passed=first <= 30,
        ),
        row(
            "generate_dues + apply_penalties, nothing to do",
            goal="≤ 2 s",
            measured=f"{again:.2f} s, {again_statements:,} statements",
            passed=again <= 2,
        ),
        row(
            "reconcile_balances --fix after 62k drifted balances",
            goal="≤ 3 s",
            measured=f"{fixed:.2f} s",
            passed=fixed <= 3,
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chamas", type=int, default=1000)
    parser.add_argument("--members", type=int, default=30)
    parser.add_argument("--entries", type=int, default=1_100_000)
    parser.add_argument("--drift", type=int, default=62_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL.")
    if "bench" not in connection.settings_dict["NAME"]:
        sys.exit("This empties the database: use one whose name contains 'bench'.")
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    started = time.perf_counter()
    build_chamas(args.chamas, args.members)
    added = build_ledger(args.entries)
    print(
        f"built {args.chamas:,} chamas × {args.members} members and {added:,} entries "
        f"in {time.perf_counter() - started:.1f} s"
    )
    rows = measure(drift=args.drift, runs=args.runs)
    print(f"{'what':<58} {'seconds':>8} {'statements':>11}  goal")
    for what, seconds, statements, goal in rows:
        print(f"{what:<58} {seconds:8.2f} {statements:>11,}  {goal}")


if __name__ == "__main__":
    main()
