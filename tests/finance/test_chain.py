"""Each chama's journals form a chain of hashes: every posting joins it in one line, and a row
changed, deleted or slipped in behind the application's back (raw SQL, with PostgreSQL's own
refusals switched off as someone with the database's keys could) is named by `verify_chain`."""

import hashlib
from decimal import Decimal as D

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from chama.roles import Role
from finance.models import Entry, Journal, LedgerChain
from finance.services import chain, dues, reconcile
from tests.concurrency.threads import run_at_once
from tests.factories import ChamaFactory, joined
from tests.helpers import requires_postgres

UNGUARDED = ("finance.Journal:journal_append_only", "finance.Entry:entry_append_only")


def posted(count=3):
    chama = ChamaFactory()
    treasurer = joined(chama, Role.TREASURER).user
    member = joined(chama)
    journals = [
        dues.payment_record(membership=member, amount=D(100 * n), method="cash", by=treasurer)
        for n in range(1, count + 1)
    ]
    if connection.vendor == "postgresql":
        # The balance checks of the postings run now, not when the test's transaction ends (after
        # the tampering below, which no posting would survive); later postings are checked at the end.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return chama, journals


def behind_the_back(sql, params):
    with pgtrigger.ignore(*UNGUARDED), connection.cursor() as cursor:
        cursor.execute(sql, params)


def repair_the_caches():
    """The tampering moved the ledger under its cached balances: re-derive them (the test's end checks)."""
    reconcile.fix_drift()


@pytest.mark.django_db
def test_each_posting_joins_the_chain_after_the_one_before():
    chama, journals = posted()

    rows = list(Journal.objects.filter(chama=chama).order_by("chain_position"))
    assert [row.chain_position for row in rows] == [1, 2, 3]
    assert rows[0].previous_hash == chain.GENESIS
    assert [row.previous_hash for row in rows[1:]] == [row.chain_hash for row in rows[:-1]]
    # The first link worked out from its definition: SHA-256 over the previous hash and the content.
    first = rows[0]
    entries = list(first.entries.values_list("account_id", "amount"))
    assert (
        first.chain_hash == hashlib.sha256(chain.GENESIS.encode() + b"\n" + chain.content(first, entries)).hexdigest()
    )
    head = LedgerChain.objects.get(pk=chama.pk)
    assert (head.position, head.head_hash) == (3, rows[-1].chain_hash)
    assert chain.verify(chama) is None
    head.refresh_from_db()
    assert head.verified_position == 3


@pytest.mark.django_db
def test_a_changed_amount_is_named_with_its_journal():
    chama, journals = posted()
    behind_the_back("UPDATE finance_journal SET amount = 20000 WHERE id = %s", [journals[1].pk])

    broken = chain.verify(chama)

    assert (broken.journal_id, broken.position) == (journals[1].pk, 2)
    assert "content or entries changed" in broken.what
    with pytest.raises(CommandError, match="1 chain"):
        call_command("verify_chain", chama=chama.pk)


@pytest.mark.django_db
def test_a_deleted_entry_and_a_deleted_last_journal_are_found():
    chama, journals = posted()
    behind_the_back("DELETE FROM finance_entry WHERE id = %s", [journals[0].entries.first().pk])
    assert chain.verify(chama).journal_id == journals[0].pk

    chama, journals = posted()
    behind_the_back("DELETE FROM finance_entry WHERE journal_id = %s", [journals[-1].pk])
    behind_the_back("DELETE FROM finance_journal WHERE id = %s", [journals[-1].pk])
    broken = chain.verify(chama)
    assert (broken.journal_id, broken.what) == (None, "the head")
    repair_the_caches()


@pytest.mark.django_db
def test_a_journal_slipped_in_outside_the_posting_path_is_not_on_the_chain():
    chama, journals = posted(1)
    slipped = Journal.objects.create(chama=chama, kind="income", value_date=journals[0].value_date, amount=D("5"))
    first, second = (entry.account for entry in journals[0].entries.all())
    Entry.objects.append(
        [
            Entry(chama=chama, journal=slipped, account=first, amount=D("5"), balance_after=D("0")),
            Entry(chama=chama, journal=slipped, account=second, amount=D("-5"), balance_after=D("0")),
        ]
    )
    assert chain.verify(chama).journal_id == slipped.pk
    repair_the_caches()


@pytest.mark.django_db
def test_reconcile_checks_what_was_posted_since_the_last_walk():
    chama, journals = posted()
    call_command("reconcile_balances", chama=chama.pk)  # walks all three, and remembers
    assert LedgerChain.objects.get(pk=chama.pk).verified_position == 3
    later = dues.payment_record(
        membership=journals[0].membership, amount=D("50"), method="cash", by=journals[0].created_by
    )
    behind_the_back("UPDATE finance_journal SET memo = 'nothing to see' WHERE id = %s", [later.pk])

    with pytest.raises(CommandError, match=f"journal #{later.pk}"):
        call_command("reconcile_balances", chama=chama.pk)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_postings_keep_the_chain_one_line():
    chama = ChamaFactory()
    treasurer = joined(chama, Role.TREASURER).user
    members = [joined(chama) for _ in range(4)]

    def pay(i):
        for _ in range(5):
            dues.payment_record(membership=members[i], amount=D("10"), method="cash", by=treasurer)

    _, errors = run_at_once(pay, len(members))

    assert errors == {}
    positions = sorted(Journal.objects.filter(chama=chama).values_list("chain_position", flat=True))
    assert positions == list(range(1, 21))
    assert chain.verify(chama) is None
