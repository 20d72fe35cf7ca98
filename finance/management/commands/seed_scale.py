"""A large ledger for the benchmarks, written set-based in PostgreSQL.

Chamas, their policies, savings types and contribution plans are a few thousand rows made with the
ORM; people, memberships, accounts, journals, entries, dues and their allocations are INSERT …
SELECT over generate_series, with the ids of journals and entries reserved up front so each
entry's `balance_after` is the running sum of its account in id order. Cached balances, dues'
paid amounts and members' counts are then set from the rows in SQL: `reconcile_balances` finds no
drift afterwards.

Every member pays a monthly contribution of 500 for the last `--months` months (a `payment`
journal settling that month's due: cash debited, the member's savings credited); the entries
left over are further savings deposits, spread evenly, and a few "hot" members get many more
(their users are named "Hot Member"; `hot_memberships()` finds them). A month a member did not
pay stays an overdue due.
"""

from __future__ import annotations

import time
from datetime import date

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet

from chama.roles import MembershipStatus, Role
from finance.models import ContributionPlan, SavingsType
from finance.services.chain import chain_bulk_loaded
from finance.services.ledger import CHART
from groups.models import Chama, Membership, Policy

AMOUNT = 500
DEFAULT_PASSWORD = "scale-bench-2026"
HOT_FIRST_NAME = "Hot"
# The first members of every chama hold its offices; the rest are plain members.
OFFICES = {1: Role.CHAIRPERSON, 2: Role.TREASURER, 3: Role.SECRETARY}


def hot_memberships() -> QuerySet[Membership]:
    """The members seed_scale gave many entries, busiest chama first."""
    return Membership.objects.filter(user__first_name=HOT_FIRST_NAME).select_related("user", "chama").order_by("pk")


def _month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


class Command(BaseCommand):
    help = (
        "Fill a PostgreSQL database with a large, consistent ledger for the benchmarks: "
        "--chamas × --members, --entries ledger entries (a few hot members with many), monthly dues."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chamas", type=int, default=1000)
        parser.add_argument("--members", type=int, default=30, help="Members per chama (at least 4).")
        parser.add_argument("--entries", type=int, default=1_000_000, help="Ledger entries in all (2 per journal).")
        parser.add_argument("--hot-members", type=int, default=4, help="Members with many entries each.")
        parser.add_argument("--hot-entries", type=int, default=50_000, help="Entries of each hot member's account.")
        parser.add_argument("--months", type=int, default=12, help="Months of contributions raised before this one.")
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Every seeded person's password.")
        parser.add_argument("--append", action="store_true", help="Add to a database that already has chamas.")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "seed_scale writes with PostgreSQL's generate_series and does not run on SQLite: "
                "set DATABASE_URL to a PostgreSQL database."
            )
        chamas, members, months = options["chamas"], options["members"], options["months"]
        hot, hot_entries = options["hot_members"], options["hot_entries"]
        if chamas < 1 or members < 4 or months < 1:
            raise CommandError("Give at least one chama, four members per chama and one month.")
        if hot > chamas:
            raise CommandError("Hot members are one per chama: give no more hot members than chamas.")
        journals = options["entries"] // 2
        hot_journals = hot_entries // 2
        normal_members = chamas * members - hot
        normal_journals = journals - hot * hot_journals
        if normal_journals < normal_members:
            raise CommandError(
                f"{options['entries']:,} entries leave fewer than one journal for each of the "
                f"{normal_members:,} other members: ask for more entries or fewer hot ones."
            )
        if Chama.objects.exists() and not options["append"]:
            raise CommandError("This database already has chamas: run with --append to add more, or use an empty one.")

        self.started = time.perf_counter()
        today = date.today()
        start = _month_start(today, months)
        with transaction.atomic(), connection.cursor() as cursor:
            self.cursor = cursor
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL synchronous_commit = off")
            # Left over when an outer transaction (a test's) kept the last run's from being dropped.
            cursor.execute("DROP TABLE IF EXISTS seed_chama, seed_plan, seed_journal")
            self.skip_key_checks()
            self.chamas(chamas, members, start)
            self.people(members, options["password"], hot)
            self.accounts()
            self.plan(normal_journals, hot_journals, hot)
            self.ledger(start, months)
            self.chain()
            self.dues(start, months, today)
            self.caches()
        self.step("committed")
        # VACUUM as well as ANALYZE: a bulk load leaves the visibility map unset, so index-only scans
        # would visit every row's page until autovacuum came by, as it would in a running database.
        # (VACUUM cannot run inside a transaction: a test that seeds inside one gets ANALYZE alone.)
        vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
        tables = ["chama_user", "groups_membership", "finance_account", "finance_journal", "finance_entry"]
        with connection.cursor() as cursor:
            for table in [*tables, "finance_due", "finance_dueallocation"]:
                cursor.execute(f"VACUUM ANALYZE {table}" if vacuum else f"ANALYZE {table}")
        self.step("vacuumed and analyzed")
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {chamas:,} chamas × {members} members, {journals:,} journals, {journals * 2:,} entries "
                f"in {time.perf_counter() - self.started:.1f} s. Log in with any seeded phone number and "
                f"password {options['password']!r}."
            )
        )

    def skip_key_checks(self) -> None:
        """Every foreign key written here is read from the row it points at (a join), so the checks
        PostgreSQL would queue for the commit, one per key of a million rows, prove nothing: as a
        superuser the seed skips them for its transaction (replica mode), and with them the ledger's
        balance triggers (every seeded journal is balanced by construction, and `reconcile_balances`
        checks each one afterwards); otherwise they run."""
        try:
            with transaction.atomic():
                self.cursor.execute("SET LOCAL session_replication_role = replica")
        except DatabaseError:
            self.step("foreign keys checked at commit (not a superuser)")

    def step(self, what: str) -> None:
        self.stdout.write(f"  {time.perf_counter() - self.started:6.1f} s  {what}")
        self.stdout.flush()

    def run(self, sql: str, params: dict | None = None) -> int:
        self.cursor.execute(sql, params or {})
        return self.cursor.rowcount

    def chamas(self, count: int, members: int, start: date) -> None:
        tag = f"{Chama.objects.count() + 1:06d}"
        made = Chama.objects.bulk_create(
            Chama(
                name=f"Scale chama {tag}-{n:05d}",
                registration_number=f"SCALE/{tag}/{n:05d}",
                status=Chama.Status.ACTIVE,
                founded_date=start,
                members_count=members,
            )
            for n in range(1, count + 1)
        )
        Policy.objects.bulk_create(Policy(chama=c, contribution_amount=AMOUNT) for c in made)
        types = SavingsType.objects.bulk_create(
            SavingsType(chama=c, code="REG", name="Regular", is_default=True) for c in made
        )
        ContributionPlan.objects.bulk_create(
            ContributionPlan(chama=c, name="Monthly contribution", amount=AMOUNT, savings_type=t, start_date=start)
            for c, t in zip(made, types, strict=True)
        )
        ids = [c.pk for c in made]
        self.run("CREATE TEMP TABLE seed_chama (id bigint PRIMARY KEY, n int NOT NULL) ON COMMIT DROP")
        self.run(
            "INSERT INTO seed_chama (id, n) SELECT id, n FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS t(id, n)",
            {"ids": ids},
        )
        self.step(f"{count:,} chamas with their policies, savings types and contribution plans")

    def people(self, members: int, password: str, hot: int) -> None:
        offset = self._scalar("SELECT coalesce(max(id), 0) FROM chama_user")
        params = {
            "members": members,
            "offset": offset,
            "password": make_password(password),
            "hot": hot,
            "hot_first": HOT_FIRST_NAME,
        }
        # Phone numbers +2547… unique by the people already there; member 4 of the first `hot` chamas is hot.
        people = self.run(
            """
            INSERT INTO chama_user (password, is_superuser, created_date, updated_date, first_name, last_name,
                                    phone_number, email, id_number, kyc_status, is_active, is_staff,
                                    failed_login_attempts)
            SELECT %(password)s, false, now(), now(),
                   CASE WHEN m = 4 AND c.n <= %(hot)s THEN %(hot_first)s ELSE 'Member' END,
                   CASE WHEN m = 4 AND c.n <= %(hot)s THEN 'Member ' || c.n ELSE c.n || '-' || m END,
                   '+2547' || (10000000 + %(offset)s + (c.n - 1) * %(members)s + m), NULL, '', 'verified', true,
                   m <= 3, 0
            FROM seed_chama c CROSS JOIN generate_series(1, %(members)s) AS m
            """,
            params,
        )
        self.run(
            """
            INSERT INTO groups_membership (created_date, updated_date, chama_id, user_id, member_number, role, status,
                                           joined_date, exit_reason)
            SELECT now(), now(), c.id, u.id, 'M' || lpad(m::text, 3, '0'),
                   CASE m WHEN 1 THEN %(chair)s WHEN 2 THEN %(treasurer)s WHEN 3 THEN %(secretary)s
                          ELSE %(member)s END,
                   %(active)s, ch.founded_date, ''
            FROM seed_chama c
            JOIN groups_chama ch ON ch.id = c.id
            CROSS JOIN generate_series(1, %(members)s) AS m
            JOIN chama_user u ON u.phone_number = '+2547' || (10000000 + %(offset)s + (c.n - 1) * %(members)s + m)
            """,
            {
                **params,
                "chair": OFFICES[1],
                "treasurer": OFFICES[2],
                "secretary": OFFICES[3],
                "member": Role.MEMBER,
                "active": MembershipStatus.ACTIVE,
            },
        )
        self.step(f"{people:,} people and their memberships")

    def accounts(self) -> None:
        chart = [(code, name, type_, purpose) for code, name, type_, purpose in CHART]
        standard = self.run(
            """
            INSERT INTO finance_account (created_date, updated_date, chama_id, code, name, type, purpose, balance)
            SELECT now(), now(), c.id, a.code, a.name, a.type, a.purpose, 0
            FROM seed_chama c CROSS JOIN unnest(%(codes)s::text[], %(names)s::text[], %(types)s::text[],
                                                %(purposes)s::text[]) AS a(code, name, type, purpose)
            """,
            {
                "codes": [row[0] for row in chart],
                "names": [row[1] for row in chart],
                "types": [str(row[2]) for row in chart],
                "purposes": [str(row[3]) for row in chart],
            },
        )
        # The member's savings account as ledger.member_account names it.
        savings = self.run(
            """
            INSERT INTO finance_account (created_date, updated_date, chama_id, code, name, type, purpose, balance,
                                         membership_id, savings_type_id)
            SELECT now(), now(), m.chama_id, '2000-' || t.code || '-' || lpad(m.id::text, 6, '0'),
                   t.name || ' savings — ' || m.member_number || ' ' || u.first_name || ' ' || u.last_name,
                   'liability', 'member_savings', 0, m.id, t.id
            FROM groups_membership m
            JOIN seed_chama c ON c.id = m.chama_id
            JOIN chama_user u ON u.id = m.user_id
            JOIN finance_savingstype t ON t.chama_id = m.chama_id AND t.is_default
            """
        )
        self.step(f"{standard + savings:,} accounts (the standard chart and every member's savings)")

    def plan(self, normal_journals: int, hot_journals: int, hot: int) -> None:
        """seed_plan: how many journals each member posts, and the two accounts they move."""
        self.run(
            """
            CREATE TEMP TABLE seed_plan ON COMMIT DROP AS
            SELECT m.id AS membership_id, m.chama_id, s.id AS savings_id, cash.id AS cash_id,
                   (u.first_name = %(hot_first)s AND c.n <= %(hot)s) AS hot,
                   row_number() OVER (ORDER BY m.id) AS rank, 0 AS journals
            FROM groups_membership m
            JOIN seed_chama c ON c.id = m.chama_id
            JOIN chama_user u ON u.id = m.user_id
            JOIN finance_account s ON s.chama_id = m.chama_id AND s.membership_id = m.id AND s.purpose = 'member_savings'
            JOIN finance_account cash ON cash.chama_id = m.chama_id AND cash.code = '1000'
            """,
            {"hot_first": HOT_FIRST_NAME, "hot": hot},
        )
        normal = self._scalar("SELECT count(*) FROM seed_plan WHERE NOT hot")
        each, extra = divmod(normal_journals, normal)
        self.run("UPDATE seed_plan SET journals = %(hot_journals)s WHERE hot", {"hot_journals": hot_journals})
        self.run(
            """
            UPDATE seed_plan p SET journals = %(each)s + (r.n <= %(extra)s)::int
            FROM (SELECT membership_id, row_number() OVER (ORDER BY membership_id) AS n
                  FROM seed_plan WHERE NOT hot) r
            WHERE r.membership_id = p.membership_id
            """,
            {"each": each, "extra": extra},
        )

    def ledger(self, start: date, months: int) -> None:
        total = self._scalar("SELECT coalesce(sum(journals), 0) FROM seed_plan")
        journal_base = self._reserve("finance_journal", total)
        entry_base = self._reserve("finance_entry", 2 * total)
        # Member k-th journals interleave (every member's first, then every second, …) as postings
        # would; the first `months` of them pay that month's contribution, the rest are deposits.
        self.run(
            """
            CREATE TEMP TABLE seed_journal ON COMMIT DROP AS
            SELECT %(base)s + row_number() OVER (ORDER BY k, p.membership_id) - 1 AS id, p.membership_id,
                   p.chama_id, p.savings_id, p.cash_id, p.rank, k
            FROM seed_plan p CROSS JOIN LATERAL generate_series(1, p.journals) AS k
            """,
            {"base": journal_base},
        )
        self.run(
            """
            INSERT INTO finance_journal (id, created_date, updated_date, chama_id, kind, value_date, memo, amount,
                                         external_reference, idempotency_key, membership_id)
            SELECT j.id, now(), now(), j.chama_id,
                   CASE WHEN j.k <= %(months)s THEN 'payment' ELSE 'savings_deposit' END,
                   (%(start)s::date + ((j.k - 1) %% %(months)s) * interval '1 month' + interval '4 days')::date,
                   CASE WHEN j.k <= %(months)s THEN 'Monthly contribution' ELSE 'Savings deposit' END,
                   %(amount)s, '', '', j.membership_id
            FROM seed_journal j
            """,
            {"months": months, "start": start, "amount": AMOUNT},
        )
        self.step(f"{total:,} journals")
        # Two entries per journal (cash debited first); balance_after is the account's running sum.
        entries = self.run(
            """
            INSERT INTO finance_entry (id, created_date, updated_date, chama_id, journal_id, account_id, amount,
                                       balance_after)
            SELECT %(base)s + 2 * (j.id - %(journal_base)s) + side.n, now(), now(), j.chama_id, j.id,
                   a.id, side.amount,
                   a.balance + sum(side.amount) OVER (PARTITION BY a.id ORDER BY j.id)
            FROM seed_journal j
            CROSS JOIN (VALUES (0, %(amount)s::numeric), (1, -%(amount)s::numeric)) AS side(n, amount)
            JOIN finance_account a ON a.id = CASE side.n WHEN 0 THEN j.cash_id ELSE j.savings_id END
            """,
            {"base": entry_base, "journal_base": journal_base, "amount": AMOUNT},
        )
        self.step(f"{entries:,} entries")

    def chain(self) -> None:
        """Each new chama's journals on its chain of hashes, in the order they were posted (by id),
        as `post_journal` would have put them."""
        self.cursor.execute("SELECT id FROM seed_chama")
        chained = chain_bulk_loaded(chama_ids=[row[0] for row in self.cursor.fetchall()])
        self.step(f"{chained:,} journals on their chamas' chains of hashes")

    def dues(self, start: date, months: int, today: date) -> None:
        # One contribution due a month for every member, its id reserved (the member's rank × months
        # + the month), so the k-th journal, which pays month k, knows its due without a join.
        members = self._scalar("SELECT count(*) FROM seed_plan")
        due_base = self._reserve("finance_due", members * months)
        params = {"amount": AMOUNT, "start": start, "months": months, "today": today, "base": due_base}
        dues = self.run(
            """
            INSERT INTO finance_due (id, created_date, updated_date, chama_id, membership_id, kind, plan_id,
                                     period_start, period_label, description, due_date, late_after, amount,
                                     paid_amount, waived_amount, status)
            SELECT %(base)s + (p.rank - 1) * %(months)s + d.k - 1, now(), now(), p.chama_id, p.membership_id,
                   'contribution', plan.id, d.period_start,
                   to_char(d.period_start, 'YYYY-MM'), plan.name || ' ' || to_char(d.period_start, 'YYYY-MM'),
                   d.period_start + 4, d.period_start + 4 + plan.grace_days, %(amount)s,
                   CASE WHEN p.journals >= d.k THEN %(amount)s ELSE 0 END, 0,
                   CASE WHEN p.journals >= d.k THEN 'paid'
                        WHEN d.period_start + 4 + plan.grace_days < %(today)s THEN 'overdue' ELSE 'pending' END
            FROM seed_plan p
            JOIN finance_contributionplan plan ON plan.chama_id = p.chama_id
            CROSS JOIN LATERAL (SELECT k, (%(start)s::date + (k - 1) * interval '1 month')::date AS period_start
                                FROM generate_series(1, %(months)s) AS k) d
            """,
            params,
        )
        allocations = self.run(
            """
            INSERT INTO finance_dueallocation (created_date, updated_date, chama_id, due_id, journal_id, kind, amount)
            SELECT now(), now(), j.chama_id, %(base)s + (j.rank - 1) * %(months)s + j.k - 1, j.id, 'payment',
                   %(amount)s
            FROM seed_journal j
            WHERE j.k <= %(months)s
            """,
            params,
        )
        self.step(f"{dues:,} dues, {allocations:,} of them paid")

    def caches(self) -> None:
        accounts = self.run(
            """
            UPDATE finance_account a SET balance = a.balance + s.total
            FROM (SELECT e.account_id, sum(e.amount) AS total
                  FROM finance_entry e JOIN seed_chama c ON c.id = e.chama_id GROUP BY e.account_id) s
            WHERE a.id = s.account_id
            """
        )
        self.run(
            """
            UPDATE groups_chama ch SET members_count = s.active
            FROM (SELECT m.chama_id, count(*) FILTER (WHERE m.status = %(active)s) AS active
                  FROM groups_membership m JOIN seed_chama c ON c.id = m.chama_id GROUP BY m.chama_id) s
            WHERE ch.id = s.chama_id
            """,
            {"active": MembershipStatus.ACTIVE},
        )
        self.step(f"cached balances of {accounts:,} accounts and members' counts")

    def _scalar(self, sql: str, params: dict | None = None) -> int:
        self.cursor.execute(sql, params or {})
        return self.cursor.fetchone()[0]

    def _reserve(self, table: str, count: int) -> int:
        """The first of `count` consecutive ids taken from the table's sequence."""
        sequence = self._scalar("SELECT pg_get_serial_sequence(%(table)s, 'id')", {"table": table})
        first = self._scalar("SELECT nextval(%(seq)s)", {"seq": sequence})
        if count > 1:
            self.run("SELECT setval(%(seq)s, %(last)s)", {"seq": sequence, "last": first + count - 1})
        return first
