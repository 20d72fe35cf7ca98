"""How fast the back office's journal list is on a large ledger (PostgreSQL).

    createdb -h 127.0.0.1 -U postgres chama_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chama_bench .venv/bin/python benchmarks/journal_changelist.py --journals 1000000

Migrates the database, loads the demo, adds N journals (2 entries each) to the first demo chama
with one INSERT … SELECT generate_series (the ledger service is not the subject here), then times
the treasurer's journal changelist: first page, a later page, a search by reference, a kind filter.

In the suite (`rows(bench)`), the same pages are timed on the seeded ledger's busiest chama.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402
from django.apps import apps  # noqa: E402

if not apps.ready:  # run as a script; the suite has set Django up already
    django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from finance.models import Account, Journal  # noqa: E402
from finance.services.chain import chain_bulk_loaded  # noqa: E402
from groups.models import Chama, Membership  # noqa: E402


def bulk_journals(chama, count):
    cash = Account.objects.get(chama=chama, code="1000")
    income = Account.objects.get(chama=chama, code="4300")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO finance_journal (created_date, updated_date, chama_id, kind, value_date, memo, amount,
                                         external_reference, idempotency_key)
            SELECT now(), now(), %s, 'income', DATE '2020-01-01' + (g %% 2000), 'bench', 10.00, 'BENCH' || g, ''
            FROM generate_series(1, %s) AS g
            """,
            [chama.pk, count],
        )
        cursor.execute(
            """
            INSERT INTO finance_entry (created_date, updated_date, chama_id, journal_id, account_id, amount, balance_after)
            SELECT now(), now(), j.chama_id, j.id, a.account_id, a.amount, 0
            FROM finance_journal j CROSS JOIN (VALUES (%s, 10.00), (%s, -10.00)) AS a(account_id, amount)
            WHERE j.memo = 'bench'
            """,
            [cash.pk, income.pk],
        )
        cursor.execute("ANALYZE finance_journal; ANALYZE finance_entry")
    chain_bulk_loaded(chama_ids=[chama.pk])  # on the chama's chain, as postings would be


def timed(client, url, runs=5):
    times, queries = [], 0
    connection.queries_log.clear()
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = captured.captured_queries
    return statistics.median(times), queries


PAGES = [
    ("first page", "/admin/finance/journal/"),
    ("page 150", "/admin/finance/journal/?p=150"),
    ("search by reference", "/admin/finance/journal/?q=BENCH777777"),
    ("filter kind=payment", "/admin/finance/journal/?kind__exact=payment"),
]


def rows(bench):
    """The admin journal list on the seeded ledger's busiest chama: the issue's "keep" row (16–109 ms)."""
    from benchmarks.suite import row

    chama = bench.hot_membership().chama
    client = bench.client(bench.treasurer(chama))
    found = []
    for label, url in PAGES:
        median, queries = timed(client, url, runs=bench.runs)
        found.append(
            row(
                f"admin journal list, {label} ({len(queries)} queries)",
                goal="keep: ≤ 110 ms",
                measured=f"{median:.0f} ms",
                passed=median <= 110,
            )
        )
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--journals", type=int, default=1_000_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL.")
    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", verbosity=0, stdout=devnull)
    chama = Chama.objects.get(registration_number="DSD/NRB/2021/0412")
    existing = Journal.objects.filter(chama=chama, memo="bench").count()
    if existing < args.journals:
        started = time.perf_counter()
        bulk_journals(chama, args.journals - existing)
        print(f"inserted {args.journals - existing:,} journals in {time.perf_counter() - started:.1f} s")
    treasurer = Membership.objects.get(chama=chama, role="treasurer").user
    client = Client()
    client.force_login(treasurer)
    total = Journal.objects.filter(chama=chama).count()
    print(f"ledger: {total:,} journals in {chama}")
    for label, url in PAGES:
        median, queries = timed(client, url)
        slowest = max(queries, key=lambda q: float(q["time"]))
        print(
            f"{label:<22} {median:8.1f} ms median of 5, {len(queries)} queries; slowest {float(slowest['time']) * 1000:.0f} ms: "
            f"{slowest['sql'][:90]}"
        )


if __name__ == "__main__":
    main()
