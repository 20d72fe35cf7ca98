"""seed_scale writes a consistent ledger (PostgreSQL only); the suite collects modules' rows."""

import sys
import types
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from benchmarks import suite
from finance.models import Account, Due, DueAllocation, Entry, Journal, LedgerChain
from finance.services import chain
from finance.services.reconcile import all_drift
from groups.models import Chama, Membership

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="seed_scale runs on PostgreSQL")


def seed(**options):
    defaults = {"chamas": 3, "members": 4, "entries": 200, "hot_members": 1, "hot_entries": 40, "months": 3}
    call_command("seed_scale", stdout=StringIO(), **{**defaults, **options})


@postgres_only
@pytest.mark.django_db
def test_seed_scale_writes_a_ledger_without_drift():
    seed()
    assert Chama.objects.count() == 3
    assert Membership.objects.count() == 12
    assert Entry.objects.count() == 200
    assert Journal.objects.count() == 100
    assert all_drift() == []
    hot = Membership.objects.get(user__first_name="Hot")
    savings = Account.objects.get(membership=hot, purpose="member_savings")
    assert savings.entries.count() == 20
    # The last entry carries the account's balance; every month's due is settled by a payment.
    assert savings.entries.order_by("-id").first().balance_after == savings.balance
    assert Due.objects.count() == 12 * 3
    assert DueAllocation.objects.count() == Due.objects.filter(status="paid").count()
    assert {c.members_count for c in Chama.objects.all()} == {4}
    assert chain.verify_all() == []  # every seeded journal on its chama's chain, in posting order
    assert LedgerChain.objects.get(pk=hot.chama_id).position == Journal.objects.filter(chama=hot.chama).count()


@postgres_only
@pytest.mark.django_db
def test_seed_scale_refuses_a_filled_database_unless_appending():
    seed()
    with pytest.raises(CommandError, match="--append"):
        seed()
    seed(append=True)
    assert Chama.objects.count() == 6
    assert all_drift() == []
    assert chain.verify_all() == []


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the refusal is SQLite's")
@pytest.mark.django_db
def test_seed_scale_refuses_sqlite_with_a_sentence():
    with pytest.raises(CommandError, match="does not run on SQLite"):
        seed()


def test_suite_collects_the_rows_of_each_module(monkeypatch):
    fake = types.ModuleType("benchmarks.fake_rows")
    fake.rows = lambda bench: [suite.row("fake", goal="≤ 1 s", measured="0.5 s", passed=True)]
    broken = types.ModuleType("benchmarks.fake_broken")
    broken.rows = lambda bench: 1 / 0
    monkeypatch.setitem(sys.modules, "benchmarks.fake_rows", fake)
    monkeypatch.setitem(sys.modules, "benchmarks.fake_broken", broken)

    monkeypatch.setitem(suite.MODULES, "benchmarks.not_there", [("later", "≤ 2 s")])
    rows, notes = suite.collect(["benchmarks.fake_rows", "benchmarks.fake_broken", "benchmarks.not_there"], None)

    assert rows[0] == {"row": "fake", "goal": "≤ 1 s", "measured": "0.5 s", "ratio": "", "passed": True}
    assert rows[1]["passed"] is False and "ZeroDivisionError" in rows[1]["measured"]
    assert rows[2] == {
        "row": "later",
        "goal": "≤ 2 s",
        "measured": "not measured (benchmarks.not_there)",
        "ratio": "",
        "passed": False,
    }
    assert notes == ["benchmarks.not_there: not written yet"]
    assert "fake" in suite.table(rows)
