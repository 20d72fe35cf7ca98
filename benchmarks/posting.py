"""How fast money is posted (PostgreSQL): payments through `payment_record` against the raw floor,
and the meeting's collection sheet.

    createdb -h 127.0.0.1 -U postgres chama_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chama_bench .venv/bin/python benchmarks/posting.py

Each run sets up its own chama (members with open monthly dues of KES 1,000), then measures, median
of three runs:

- payments/s through `finance.services.dues.payment_record` (each settles one due), one thread and
  eight threads (each thread pays for its own members, as treasurers at different desks would);
- the raw floor in the same run (`benchmarks.suite.post_raw_floor`): one journal, two entries and
  two balance updates in one transaction, in plain SQL — what the database costs at the least;
- statements per payment (one payment settling one due, one settling five);
- `finance.services.collections.collection_sheet_post` for 30 and 100 members: time and statements
  of a meeting after the first (the members' accounts exist).

The functions are importable: `run(...)` returns the rows that `main()` prints.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
# Receipts go to memory: a console printing every email would be the slowest part.
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("SMS_BACKEND", "chama.sms.MemoryBackend")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

from benchmarks.suite import post_raw_floor  # noqa: E402
from chama.roles import Role  # noqa: E402
from finance.services import collections, ledger  # noqa: E402
from finance.services import dues as dues_service  # noqa: E402

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MONTHS = range(1, 7)  # January to June: six open dues per member
DUE = Decimal("1000")


def setup_chama(members: int, *, months=MONTHS):
    """A chama whose `members` members each owe a KES 1,000 due for each of `months` of 2026.
    Returns (chama, treasurer user, [memberships])."""
    from django.contrib.auth import get_user_model
    from django.db.models import Max

    from groups.models import Chama
    from tests.factories import ChamaFactory, UserFactory, joined

    # Phone numbers and names stay unique in a database kept from an earlier run.
    UserFactory.reset_sequence((get_user_model().objects.aggregate(top=Max("pk"))["top"] or 0) + 1)
    ChamaFactory.reset_sequence((Chama.objects.aggregate(top=Max("pk"))["top"] or 0) + 1)
    with override_settings(PASSWORD_HASHERS=FAST_HASHER):
        chama = ChamaFactory(
            policy={
                "contribution_amount": DUE,
                "contribution_frequency": "monthly",
                "contribution_due_day": 5,
                "grace_days": 3,
                "second_approval_threshold": Decimal("100000000"),
                "share_price": Decimal("100"),
            }
        )
        treasurer = joined(chama, Role.TREASURER).user
        people = [joined(chama) for _ in range(members)]
    dues_service.contribution_plan_from_policy(chama, start_date=date(2026, 1, 1))
    for month in months:
        dues_service.generate_dues(period=(2026, month), chama=chama)
    ledger.ensure_chart(chama)
    return chama, treasurer, people


def pay(chama, treasurer, membership, amount=DUE):
    return dues_service.payment_record(membership=membership, amount=amount, method="cash", by=treasurer)


def payments_per_second(chama, treasurer, people, *, threads: int = 1, per_member: int = 1) -> float:
    """Payments/s paying `per_member` dues of each member in `people`, spread over `threads` threads."""
    shares = [people[i::threads] for i in range(threads)]

    def work(mine):
        try:
            for _ in range(per_member):
                for membership in mine:
                    pay(chama, treasurer, membership)
        finally:
            if threads > 1:
                connection.close()

    return _rate(work, shares, len(people) * per_member)


def floor_per_second(chama, count: int, *, threads: int = 1) -> float:
    """The raw floor (`benchmarks.suite.post_raw_floor`): journals/s on `threads` connections."""
    shares = [range(i, count, threads) for i in range(threads)]

    def work(mine):
        try:
            post_raw_floor(chama.pk, len(mine))
        finally:
            if threads > 1:
                connection.close()

    return _rate(work, shares, count)


def _rate(work, shares, count) -> float:
    if len(shares) == 1:
        started = time.perf_counter()
        work(shares[0])
        return count / (time.perf_counter() - started)
    barrier = threading.Barrier(len(shares) + 1)

    def target(mine):
        barrier.wait()
        work(mine)

    workers = [threading.Thread(target=target, args=(mine,)) for mine in shares]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return count / (time.perf_counter() - started)


def statements_per_payment(dues_settled: int = 1) -> tuple[int, int]:
    """SQL statements of one payment settling `dues_settled` dues (five open dues are still owed):
    (up to its COMMIT, after it: the receipt and anything else listening to journal_posted)."""
    chama, treasurer, people = setup_chama(1, months=range(1, 7))
    pay(chama, treasurer, people[0], DUE)  # accounts opened, as for any member who paid before
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        pay(chama, treasurer, people[0], DUE * dues_settled)
    sql = [query["sql"] for query in captured.captured_queries]
    committed = sql.index("COMMIT") + 1 if "COMMIT" in sql else len(sql)
    return committed, len(sql) - committed


def sheet(members: int) -> tuple[float, int, int]:
    """(seconds, statements up to the COMMIT, statements after it) of one collection sheet: every
    member hands in a contribution of KES 1,000, one share and KES 100 of fines (kept as an
    advance): three journals a member. Receipts are queued for the worker."""
    chama, treasurer, people = setup_chama(members)
    rows = [{"membership": m.pk, "contribution": DUE, "shares": 1, "fines": Decimal("100")} for m in people]
    # The meeting before handed in the same (its sheet opened the members' share and advance
    # accounts): the sheet measured is a meeting like any after the first.
    collections.collection_sheet_post(chama=chama, day=chama.today(), rows=rows, method="cash", by=treasurer)
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        collections.collection_sheet_post(chama=chama, day=chama.today(), rows=rows, method="cash", by=treasurer)
        elapsed = time.perf_counter() - started
    sql = [query["sql"] for query in captured.captured_queries]
    committed = sql.index("COMMIT") + 1 if "COMMIT" in sql else len(sql)
    return elapsed, committed, len(sql) - committed


def median_of(runs: int, measure):
    return statistics.median(measure() for _ in range(runs))


def run(*, members: int = 120, runs: int = 3, floor_count: int = 500) -> list[tuple[str, str]]:
    """Measure everything; returns [(what, measured)] rows."""
    rows = []

    def single():
        chama, treasurer, people = setup_chama(members, months=range(1, 2))
        return payments_per_second(chama, treasurer, people, threads=1)

    def eight():
        chama, treasurer, people = setup_chama(members, months=range(1, 2))
        return payments_per_second(chama, treasurer, people, threads=8)

    def floor1():
        chama, _, _ = setup_chama(0, months=range(0))
        return floor_per_second(chama, floor_count)

    def floor8():
        chama, _, _ = setup_chama(0, months=range(0))
        return floor_per_second(chama, floor_count, threads=8)

    one, many = median_of(runs, single), median_of(runs, eight)
    floor_one, floor_many = median_of(runs, floor1), median_of(runs, floor8)
    rows.append(("payment_record, 1 thread", f"{one:,.0f} payments/s"))
    rows.append(("payment_record, 8 threads", f"{many:,.0f} payments/s"))
    rows.append(("raw floor, 1 thread", f"{floor_one:,.0f} journals/s"))
    rows.append(("raw floor, 8 threads", f"{floor_many:,.0f} journals/s"))
    rows.append(("ratio to floor, 1 thread", f"{one / floor_one:.1%}"))
    rows.append(
        ("ratio to floor, 8 threads", f"{many / floor_many:.1%} (of the 1-thread floor {many / floor_one:.1%})")
    )
    for settled in (1, 5):
        posting, after = statements_per_payment(settled)
        rows.append(
            (
                f"statements, payment settling {settled} due{'s' if settled > 1 else ''}",
                f"{posting} + {after} after commit",
            )
        )
    for size in (30, 100):
        timings = [sheet(size) for _ in range(runs)]
        seconds = statistics.median(t for t, _, _ in timings)
        _, posting, after = timings[0]
        rows.append(
            (
                f"collection sheet, {size} members",
                f"{seconds * 1000:,.0f} ms, {posting:,} statements + {after:,} after commit",
            )
        )
    return rows


def rows(bench) -> list[dict]:
    """The suite's rows (`benchmarks/__init__.py`): statements a payment costs, settling one due and
    five, and the collection sheet of 30 and 100 members (≤ 300 ms; statements independent of
    history). The payment rate against the raw floor is `benchmarks.ledger`'s row."""
    from benchmarks.suite import row

    one, _ = statements_per_payment(1)
    five, _ = statements_per_payment(5)
    found = [
        row(
            "statements a payment costs, settling 1 due and 5",
            goal="the same, whatever the dues",
            measured=f"{one} and {five}",
            passed=one == five,
        )
    ]
    # The goal is for 30 members; 100 members get the same time per member.
    for size, goal in ((30, 0.3), (100, 1.0)):
        timings = [sheet(size) for _ in range(bench.runs)]
        seconds = statistics.median(t for t, _, _ in timings)
        _, posting, after = timings[0]
        found.append(
            row(
                f"collection sheet POST, {size} members",
                goal=f"≤ {goal * 1000:,.0f} ms, statements independent of history",
                measured=f"{seconds * 1000:,.0f} ms, {posting:,} statements + {after:,} after commit",
                passed=seconds <= goal,
            )
        )
    return found


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(what) for what, _ in rows)
    print(f"{'what':<{width}}  measured (median of 3)")
    print(f"{'-' * width}  {'-' * 30}")
    for what, measured in rows:
        print(f"{what:<{width}}  {measured}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=120, help="members paying in the payments runs")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL.")
    call_command("migrate", verbosity=0)
    settings.DEBUG = False  # timed as served: no query log kept (statements are counted on their own)
    print_table(run(members=args.members, runs=args.runs))


if __name__ == "__main__":
    main()
