"""How fast a member reads their own money when the chama's history is long (PostgreSQL).

    createdb -h 127.0.0.1 -U postgres chama_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chama_bench .venv/bin/python benchmarks/member_reads.py

Migrates the database and makes a chama (once) with a hot member holding 50,000 entries, a member
holding 100 and other members sharing the rest of the history, written set-based with one
INSERT … SELECT generate_series (the posting path is not the subject here). Then it times, through
the API, `my/journals/` for the hot member and for the small one, and page 1 and page 2 of the hot
member's statement, and prints p50/p95, the statements each request issued and how many rows of
the journals and entries PostgreSQL read to answer them (EXPLAIN ANALYZE: what grows with the
history when a read depends on it, whatever else runs on the machine).

`history()`, `member_history_chama()` and `measure()` are importable: the benchmark suite and the
query-plan test build the same history with them.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSWORD = "bench-reader-1"
HOT, SMALL = 50_000, 100  # entries of the hot and the small member (two entries a journal: theirs and cash's)
CHAMA_NAME = "Member reads bench"


def history(*, chama, members):
    """Add journals to `chama`: `members` is [(membership, journal count)], one entry on the member's
    shares and one on cash each, spread evenly over one id range (as a long-lived chama's history
    interleaves its members), in two statements; then cached balances and planner statistics are
    brought up to date. Returns the number of entries written."""
    from django.db import connection

    from finance.models import Account
    from finance.services.chain import chain_bulk_loaded
    from finance.services.ledger import chama_account, member_account

    cash = chama_account(chama, Account.Purpose.CASH)
    rows = [
        (member_account(membership, Account.Purpose.MEMBER_SHARES).pk, membership.pk, count)
        for membership, count in members
    ]
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO finance_journal (created_date, updated_date, chama_id, kind, value_date, memo, amount,
                                         external_reference, idempotency_key, membership_id)
            SELECT now(), now(), %s, 'share_purchase', DATE '2020-01-01' + (g %% 2000), 'history ' || m.account_id,
                   10.00, '', '', m.membership_id
            FROM (VALUES {values}) AS m(account_id, membership_id, n)
            CROSS JOIN LATERAL generate_series(1, m.n) AS g
            ORDER BY g::float8 / m.n, m.membership_id
            """,
            [chama.pk, *params],
        )
        cursor.execute(
            """
            INSERT INTO finance_entry (created_date, updated_date, chama_id, journal_id, account_id, amount, balance_after)
            SELECT now(), now(), j.chama_id, j.id, side.account_id, side.amount, 0
            FROM finance_journal j
            CROSS JOIN LATERAL (VALUES (%s, 10.00), (substr(j.memo, 9)::bigint, -10.00)) AS side(account_id, amount)
            WHERE j.chama_id = %s AND j.memo LIKE 'history %%'
              AND NOT EXISTS (SELECT 1 FROM finance_entry e WHERE e.journal_id = j.id)
            ORDER BY j.id
            """,
            [cash.pk, chama.pk],
        )
        cursor.execute(
            """
            UPDATE finance_account a SET balance = s.total
            FROM (SELECT account_id, sum(amount) AS total FROM finance_entry WHERE chama_id = %s GROUP BY account_id) s
            WHERE a.id = s.account_id AND a.balance <> s.total
            """,
            [chama.pk],
        )
        cursor.execute("ANALYZE finance_journal; ANALYZE finance_entry; ANALYZE finance_account")
    chain_bulk_loaded(chama_ids=[chama.pk])  # on the chama's chain, as postings would be
    return 2 * sum(count for _, count in members)


def member_history_chama(*, hot=HOT, small=SMALL, others=28, rest=None, name=CHAMA_NAME):
    """A chama with a hot member (`hot` entries), a small one (`small` entries) and `others` members
    sharing `rest` more entries (three times the hot member's unless given). Made once, found again
    on the next run: returns (chama, hot membership, small membership)."""
    from django.contrib.auth import get_user_model

    from groups.models import Chama
    from groups.services import admit_member, chama_create

    chama = Chama.objects.filter(name=name).first()
    if chama is None:
        chama = chama_create(
            name=name, kind=Chama.Kind.VSLA, category=Chama.Category.SAVINGS, status=Chama.Status.ACTIVE
        )
    memberships = list(chama.memberships.order_by("pk"))
    users = get_user_model().objects
    while len(memberships) < others + 2:
        index = len(memberships)
        user = users.filter(phone_number=f"+2547009{index:05d}").first() or users.create_user(
            f"+2547009{index:05d}", PASSWORD, first_name=f"Reader{index}", last_name="Bench"
        )
        memberships.append(admit_member(chama=chama, user=user))
    hot_member, small_member, *rest_members = memberships
    if not chama.journals.filter(memo__startswith="history ").exists():
        rest = 3 * hot if rest is None else rest
        share = max(1, rest // 2 // max(1, len(rest_members)))
        history(
            chama=chama,
            members=[(hot_member, hot // 2), (small_member, small // 2), *((m, share) for m in rest_members)],
        )
    return chama, hot_member, small_member


LEDGER_TABLES = ("finance_journal", "finance_entry")


def ledger_rows_read(queries):
    """Rows of the journals and entries PostgreSQL read (kept or filtered out) to answer `queries`:
    what grows with the history when a read depends on it, whatever the machine's load."""
    from django.db import connection

    def nodes(plan):
        yield plan
        for child in plan.get("Plans", []):
            yield from nodes(child)

    read = 0
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT") or not any(f'"{t}"' in sql for t in LEDGER_TABLES):
                continue
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            raw = cursor.fetchone()[0]
            document = json.loads(raw) if isinstance(raw, str) else raw
            for node in nodes(document[0]["Plan"]):
                if node.get("Relation Name") in LEDGER_TABLES:
                    kept = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                    read += kept * node.get("Actual Loops", 1)
    return read


def timed(client, url, runs):
    """(p50 ms, p95 ms, statements, ledger rows read) of `runs` GETs of `url`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    client.get(url)  # warm: the first request pays for imports and the connection
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
    queries = captured.captured_queries
    return statistics.median(times), p95, len(queries), ledger_rows_read(queries)


def api_client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def measure(*, runs=50, hot=HOT, small=SMALL):
    """[(what, p50 ms, p95 ms, statements, ledger rows read)] for the member reads, on the bench chama (made if missing)."""
    from finance.models import Account

    chama, hot_member, small_member = member_history_chama(hot=hot, small=small)
    base = f"/api/v1/chamas/{chama.pk}"
    hot_client, small_client = api_client(hot_member.user), api_client(small_member.user)
    shares = Account.objects.get(chama=chama, membership=hot_member, purpose=Account.Purpose.MEMBER_SHARES)
    statement = f"{base}/my/accounts/{shares.pk}/statement/"
    second_page = hot_client.get(statement).json()["next"]
    rows = []
    for what, client, url in [
        (f"my/journals/, member with {hot:,} entries", hot_client, f"{base}/my/journals/"),
        (f"my/journals/, member with {small:,} entries", small_client, f"{base}/my/journals/"),
        ("statement page 1, hot member", hot_client, statement),
        ("statement page 2, hot member", hot_client, second_page),
    ]:
        rows.append((what, *timed(client, url, runs)))
    return rows


def rows(bench) -> list[dict]:
    """The suite's rows (`benchmarks/__init__.py`): my/journals/ p95 for the hot and the small member
    (≤ 25 ms and flat: the hot member's within 25% of the small one's), statement page 1 p95 (≤ 15 ms)."""
    from benchmarks.suite import row

    measured = {what: (p95, read) for what, _, p95, _, read in measure(runs=max(20, bench.runs * 10))}
    (hot_p95, hot_read), (small_p95, small_read), (statement_p95, _), _ = measured.values()
    flat = hot_p95 <= max(small_p95 * 1.25, small_p95 + 3)
    return [
        row(
            "my/journals/ p95, hot member vs small",
            goal="≤ 25 ms, flat",
            measured=f"{hot_p95:.1f} ms vs {small_p95:.1f} ms ({hot_read:,} vs {small_read:,} ledger rows read)",
            passed=hot_p95 <= 25 and flat,
        ),
        row(
            "statement page 1 p95, hot member",
            goal="≤ 15 ms",
            measured=f"{statement_p95:.1f} ms",
            passed=statement_p95 <= 15,
        ),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50, help="requests per route (p95 needs 20 or more)")
    args = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    django.setup()

    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL.")
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    rows = measure(runs=args.runs)
    print(f"ready in {time.perf_counter() - started:.1f} s; {args.runs} requests per route, in-process")
    print(f"{'what':<42} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>4} {'ledger rows read':>17}")
    for what, p50, p95, statements, read in rows:
        print(f"{what:<42} {p50:8.1f} {p95:8.1f} {statements:4d} {read:17,d}")


if __name__ == "__main__":
    main()
