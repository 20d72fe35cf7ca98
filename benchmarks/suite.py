"""Run every benchmark module and print one table: row, goal, measured, ratio to the raw floor, pass.

    make bench                                   # DATABASE_URL defaults to …/chama_bench, made if missing
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chama_bench .venv/bin/python benchmarks/suite.py
    BENCH_SEED="--chamas 50 --members 30 --entries 100000" make bench     # a smaller ledger

The database is migrated and, when it has no chama yet, filled by `seed_scale` (BENCH_SEED gives
its arguments); later runs reuse it. Each module keeps the contract in `benchmarks/__init__.py`;
a module not written yet is listed as such below the table. `--strict` exits 1 when a row misses
its goal. Timings depend on the machine: quote them with where they were taken.
"""

from __future__ import annotations

import argparse
import importlib
import os
import secrets
import shlex
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/chama_bench"
DEFAULT_SEED = "--chamas 1000 --members 30 --entries 1000000 --hot-members 4 --hot-entries 50000"
# Every benchmark module, in the table's order, with the rows it measures: until a module is
# written, its rows are printed as not measured, so the table always has every row.
MODULES = {
    "benchmarks.ledger": [
        ("payment_record vs the raw floor, 1 and 8 threads", "≥ 30% (aim 50%); 8 threads ≥ 1 thread"),
        ("reconcile_balances, every chama", "≤ 1 s"),
    ],
    "benchmarks.posting": [
        ("statements a payment costs, settling 1 due and 5", "the same, whatever the dues"),
        ("collection sheet POST, 30 and 100 members", "≤ 300 ms and ≤ 1 s, statements independent of history"),
    ],
    "benchmarks.month_end": [
        ("generate_dues + apply_penalties, first run", "≤ 30 s"),
        ("generate_dues + apply_penalties, nothing to do", "≤ 2 s"),
        ("reconcile_balances --fix after 62k drifted balances", "≤ 3 s"),
    ],
    "benchmarks.member_reads": [
        ("my/journals/ p95, hot member vs small", "≤ 25 ms, flat"),
        ("statement page 1 p95, hot member", "≤ 15 ms"),
    ],
    "benchmarks.journal_changelist": [("admin journal list", "keep: ≤ 110 ms")],
    "benchmarks.reports": [
        ("treasurer's dashboard p95", "≤ 150 ms"),
        ("a year's income statement p95", "≤ 300 ms"),
        ("member summary p95, hot member", "≤ 25 ms, ≤ 10 queries"),
    ],
}
COLUMNS = ("row", "goal", "measured", "ratio", "passed")


def row(name: str, *, goal: str, measured: str, passed: bool, ratio: str = "") -> dict[str, Any]:
    """One line of the table (see the contract in benchmarks/__init__.py)."""
    return {"row": name, "goal": goal, "measured": measured, "ratio": ratio, "passed": bool(passed)}


def collect(modules: Iterable[str], bench: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """(rows, notes): every module's rows in order; a module not there or without `rows` is a note
    (and its expected rows, from MODULES, are printed as not measured); one that fails is a failed
    row carrying the error."""
    rows, notes = [], []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            notes.append(f"{name}: not written yet")
            for expected, goal in MODULES.get(name, []):
                rows.append(row(expected, goal=goal, measured=f"not measured ({name})", passed=False))
            continue
        if not hasattr(module, "rows"):
            notes.append(f"{name}: has no rows(bench)")
            continue
        try:
            found = list(module.rows(bench))
        except Exception as error:  # noqa: BLE001 - one broken benchmark must not hide the others
            found = [row(name, goal="runs", measured=f"failed: {error!r}"[:120], passed=False)]
        for each in found:
            missing = set(COLUMNS) - set(each)
            if missing:
                raise ValueError(f"{name} returned a row without {', '.join(sorted(missing))}: {each}")
        rows.extend(found)
    return rows, notes


def table(rows: list[dict[str, Any]]) -> str:
    header = {"row": "row", "goal": "goal", "measured": "measured (median of 3)", "ratio": "ratio", "passed": "pass"}
    lines = [header, *({**r, "passed": "pass" if r["passed"] else "FAIL"} for r in rows)]
    widths = {c: max(len(str(line[c])) for line in lines) for c in COLUMNS}
    out = []
    for index, line in enumerate(lines):
        out.append(" | ".join(str(line[c]).ljust(widths[c]) for c in COLUMNS).rstrip())
        if index == 0:
            out.append("-+-".join("-" * widths[c] for c in COLUMNS))
    return "\n".join(out)


def post_raw_floor(chama_id: int, journals: int) -> None:
    """The least a payment can cost, `journals` times: one journal, two entries with their running
    balances and two balance updates (the chama's cash and other income), one commit each, in plain
    SQL. The books stay right: reconcile_balances finds no drift after it, once `floor_rate` has put
    the journals on the chama's chain (not timed: the floor is the issue's fixed yardstick)."""
    from django.db import connection, transaction

    from finance.models import Account
    from finance.services.ledger import CHAMA_CODES

    cash = Account.objects.get(chama_id=chama_id, code=CHAMA_CODES[Account.Purpose.CASH]).pk
    income = Account.objects.get(chama_id=chama_id, code=CHAMA_CODES[Account.Purpose.OTHER_INCOME]).pk
    for _ in range(journals):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO finance_journal (created_date, updated_date, chama_id, kind, value_date, memo, "
                "amount, external_reference, idempotency_key) "
                "VALUES (now(), now(), %s, 'income', %s, 'Raw floor', 1.00, '', '') RETURNING id",
                [chama_id, date.today()],
            )
            journal = cursor.fetchone()[0]
            cursor.execute(
                "UPDATE finance_account SET balance = balance + CASE WHEN id = %s THEN 1.00 ELSE -1.00 END "
                "WHERE id IN (%s, %s) RETURNING id, balance",
                [cash, cash, income],
            )
            after = dict(cursor.fetchall())
            cursor.execute(
                "INSERT INTO finance_entry (created_date, updated_date, chama_id, journal_id, account_id, "
                "amount, balance_after) VALUES (now(), now(), %s, %s, %s, 1.00, %s), "
                "(now(), now(), %s, %s, %s, -1.00, %s)",
                [chama_id, journal, cash, after[cash], chama_id, journal, income, after[income]],
            )


class Bench:
    """What the modules share: the timing rule, the raw floor, the seeded members."""

    def __init__(self, runs: int = 3):
        self.runs = runs
        self.quiet = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the run

    def median(self, fn: Callable[[], Any], runs: int | None = None) -> float:
        """Seconds: the median of `runs` calls of fn."""
        times = []
        for _ in range(runs or self.runs):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    @cache  # noqa: B019 - one Bench per run
    def floor_rate(self, journals: int = 300) -> float:
        """Journals/s of the raw floor (`post_raw_floor`) on one connection, median of `runs`."""
        from finance.services.chain import chain_bulk_loaded

        chama_id = self._quiet_chama().pk
        rate = journals / self.median(lambda: post_raw_floor(chama_id, journals))
        chain_bulk_loaded(chama_ids=[chama_id])  # the floor's journals on the chain, after the timing
        return rate

    def _quiet_chama(self):
        from groups.models import Chama

        return Chama.objects.order_by("-pk").first()

    def hot_membership(self):
        from finance.management.commands.seed_scale import hot_memberships

        return hot_memberships().first()

    def small_membership(self):
        """A plain member of the last chama (about as many entries as most members)."""
        from groups.models import Membership

        return Membership.objects.filter(chama=self._quiet_chama(), role="member").select_related("user").last()

    def treasurer(self, chama):
        from groups.models import Membership

        return Membership.objects.get(chama=chama, role="treasurer").user

    def client(self, user):
        from django.test import Client

        client = Client()
        client.force_login(user)
        return client

    def threads(self, count: int, work: Callable[[int], Any]) -> float:
        """Seconds for `count` threads each running work(index) on its own connection."""
        from django.db import connection

        def run(index):
            try:
                work(index)
            finally:
                connection.close()

        workers = [threading.Thread(target=run, args=(i,)) for i in range(count)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return time.perf_counter() - started


def ensure_database(url: str) -> None:
    """Create the database named in `url` if PostgreSQL does not have it yet."""
    import psycopg
    from psycopg import sql

    base, _, name = url.rpartition("/")
    name = name.split("?")[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def setup() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        sys.exit("The benchmarks run on PostgreSQL: set DATABASE_URL to a postgres:// URL (default chama_bench).")
    if os.environ["DATABASE_URL"].rstrip("/").rsplit("/", 1)[-1].startswith("test_"):
        sys.exit("That looks like the test database: give the benchmarks a database of their own.")
    ensure_database(os.environ["DATABASE_URL"])
    # Production-like: DEBUG off (no query log), notifications kept in memory instead of printed.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(40))
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    os.environ.setdefault("SECURE_COOKIES", "false")
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    os.environ.setdefault("SMS_BACKEND", "chama.sms.MemoryBackend")
    # The production queue: receipts and deliveries are pushed to RQ on Redis (a database of the
    # benchmarks' own, emptied before and after) and no worker runs them here.
    os.environ.setdefault("TASKS_BACKEND", "rq")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    import django

    django.setup()
    empty_queue()


def empty_queue() -> None:
    """Drop what the benchmarks queued (they run no worker), when the queue is RQ."""
    from django.conf import settings

    if settings.TASKS_BACKEND == "rq":
        import django_rq

        django_rq.get_queue("default").empty()


def seed() -> None:
    from django.core.management import call_command

    from finance.models import Entry
    from groups.models import Chama

    call_command("migrate", verbosity=0)
    if Chama.objects.exists():
        print(f"reusing the seeded database: {Entry.objects.count():,} entries")
        return
    call_command("seed_scale", *shlex.split(os.environ.get("BENCH_SEED", DEFAULT_SEED)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", action="append", help="Module(s) to run, e.g. --only benchmarks.ledger")
    parser.add_argument("--strict", action="store_true", help="Exit 1 when a row misses its goal.")
    args = parser.parse_args(argv)
    setup()
    seed()
    bench = Bench(runs=args.runs)
    started = time.perf_counter()
    try:
        rows, notes = collect(args.only or list(MODULES), bench)
    finally:
        empty_queue()
    print()
    print(table(rows))
    for note in notes:
        print(f"  ({note})")
    met = sum(r["passed"] for r in rows)
    print(f"\n{met} of {len(rows)} rows meet their goal; {time.perf_counter() - started:.0f} s.")
    return 1 if args.strict and met < len(rows) else 0


if __name__ == "__main__":
    sys.exit(main())
