"""Tamper evidence: each chama's journals form a chain of hashes.

As a journal is posted, under the chama's chain lock (`finance.locking.lock_chain`, taken before
the accounts' locks, so the chain is one line however many post at once), it gets the next
position, the hash of the journal before it, and a hash (SHA-256) over both that hash and its own
content: its chama, position, kind, value date, amount, memo, member, loan, references, who
posted it, the journal it reverses, and every entry (account and amount). Changing any of these
afterwards, deleting an entry or a journal, or inserting one, breaks the chain from that row on.
`verify` walks a chain and names the first broken link; `manage.py verify_chain` walks them all,
and `reconcile_balances` checks what was posted since the last check.

The content's form below is what every stored hash means: it never changes.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import pgtrigger
from django.db import connection
from django.db.models import F
from django.utils import timezone

from finance.models import Entry, Journal, LedgerChain
from groups.models import Chama

GENESIS = "0" * 64  # the "previous hash" of a chain's first journal
CHUNK = 2000  # journals read at a time while walking a chain


def content(journal: Journal, entries: Iterable[tuple[int, Decimal]]) -> bytes:
    """The journal as its hash reads it: `entries` are (account id, amount, debit positive)."""
    return json.dumps(
        [
            journal.chama_id,
            journal.chain_position,
            journal.kind,
            journal.value_date.isoformat(),
            f"{journal.amount:.2f}",
            journal.memo,
            journal.membership_id,
            journal.loan_id,
            journal.external_reference,
            journal.idempotency_key,
            journal.created_by_id,
            journal.reversal_of_id,
            [[account_id, f"{amount:.2f}"] for account_id, amount in sorted(entries)],
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def link(previous_hash: str, journal: Journal, entries: Iterable[tuple[int, Decimal]]) -> str:
    """The journal's hash: over the previous journal's hash and its own content."""
    return hashlib.sha256(previous_hash.encode() + b"\n" + content(journal, entries)).hexdigest()


def chain_journal(journal: Journal, head: list, entries: Iterable[tuple[int, Decimal]]) -> None:
    """Put `journal` (not saved yet) on the chain after `head` ([position, hash], held under the
    chain lock), and move `head` on to it."""
    position, previous = head
    journal.chain_position, journal.previous_hash = position + 1, previous or GENESIS
    journal.chain_hash = link(journal.previous_hash, journal, entries)
    head[:] = [journal.chain_position, journal.chain_hash]


def chain_bulk_loaded(*, chama_ids: Iterable[int]) -> int:
    """Put the journals of `chama_ids` that were written in bulk outside the posting path (a
    benchmark's seeded ledger: nobody posted them) on their chamas' chains, in id order after what is
    on each chain already, and move each head and its checkpoint there; the count chained. Never a
    repair: a journal of unknown origin is what `verify` reports."""
    chama_ids = sorted(set(chama_ids))
    heads = {
        head.pk: [head.position, head.head_hash or GENESIS] for head in LedgerChain.objects.filter(pk__in=chama_ids)
    }
    loaded = Journal.objects.filter(chama_id__in=chama_ids, chain_position__isnull=True).order_by("id")
    done, last = 0, 0
    with pgtrigger.ignore("finance.Journal:journal_append_only"):
        while chunk := list(loaded.filter(pk__gt=last)[:CHUNK]):
            entries = defaultdict(list)
            for journal_id, account_id, amount in Entry.objects.filter(
                journal_id__in=[journal.pk for journal in chunk]
            ).values_list("journal_id", "account_id", "amount"):
                entries[journal_id].append((account_id, amount))
            rows = []
            for journal in chunk:
                head = heads.setdefault(journal.chama_id, [0, GENESIS])
                chain_journal(journal, head, entries[journal.pk])
                rows += [journal.pk, journal.chain_position, journal.previous_hash, journal.chain_hash]
            values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {Journal._meta.db_table} SET chain_position = c.position, previous_hash = c.previous, "
                    f"chain_hash = c.hash FROM (VALUES {values}) AS c(id, position, previous, hash) "
                    f"WHERE {Journal._meta.db_table}.id = c.id",
                    rows,
                )
            done, last = done + len(chunk), chunk[-1].pk
    LedgerChain.objects.bulk_create(
        [
            LedgerChain(
                chama_id=pk, position=position, head_hash=hashed, verified_position=position, verified_hash=hashed
            )
            for pk, (position, hashed) in heads.items()
        ],
        update_conflicts=True,
        unique_fields=["chama"],
        update_fields=["position", "head_hash", "verified_position", "verified_hash"],
    )
    return done


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain: where, what was expected there, and what was found."""

    chama_id: int
    journal_id: int | None
    position: int
    what: str
    expected: str
    found: str

    def __str__(self):
        where = f"journal #{self.journal_id}" if self.journal_id else "the chain's head"
        return (
            f"Chama {self.chama_id}, {where} (position {self.position}): {self.what}: "
            f"expected {self.expected}, found {self.found}."
        )


def verify(chama: Chama, *, since_checkpoint: bool = False) -> Break | None:
    """Walk `chama`'s chain (from the last clean check with `since_checkpoint`) and return its first
    broken link, or None; a clean walk moves the checkpoint to the head. Reads the journals and their
    entries CHUNK at a time, by position."""
    head = LedgerChain.objects.filter(pk=chama.pk).first() or LedgerChain(chama=chama)
    position, previous = (head.verified_position, head.verified_hash) if since_checkpoint else (0, GENESIS)
    previous = previous or GENESIS
    unchained = Journal.objects.filter(chama=chama, chain_position__isnull=True).order_by("id").first()
    if unchained is not None:
        return Break(chama.pk, unchained.pk, 0, "a journal not on the chain", "a position", "none")
    journals = Journal.objects.filter(chama=chama).order_by("chain_position")
    while True:
        chunk = list(journals.filter(chain_position__gt=position)[:CHUNK])
        if not chunk:
            break
        entries = defaultdict(list)
        for journal_id, account_id, amount in Entry.objects.filter(
            chama=chama, journal_id__in=[journal.pk for journal in chunk]
        ).values_list("journal_id", "account_id", "amount"):
            entries[journal_id].append((account_id, amount))
        for journal in chunk:
            position += 1
            problem = _check(journal, position, previous, entries[journal.pk])
            if problem:
                return Break(chama.pk, journal.pk, position, *problem)
            previous = journal.chain_hash
    if (position, previous) != (head.position, head.head_hash or GENESIS):
        return Break(
            chama.pk, None, head.position, "the head", f"{head.position} / {head.head_hash}", f"{position} / {previous}"
        )
    if head.pk is not None:
        LedgerChain.objects.filter(pk=chama.pk).update(
            verified_position=position, verified_hash=previous, verified_date=timezone.now()
        )
    return None


def _check(
    journal: Journal, position: int, previous: str, entries: list[tuple[int, Decimal]]
) -> tuple[str, str, str] | None:
    if journal.chain_position != position:
        return "the position (a journal before it is missing)", str(position), str(journal.chain_position)
    if journal.previous_hash != previous:
        return "the previous journal's hash", previous, journal.previous_hash
    recomputed = link(previous, journal, entries)
    if journal.chain_hash != recomputed:
        return "the journal's hash (its content or entries changed)", recomputed, journal.chain_hash
    return None


def verify_all(
    *, chama: Chama | None = None, since_checkpoint: bool = False, progress: Callable[[int, int], None] | None = None
) -> list[Break]:
    """Every chama's first broken link (or one chama's); with `since_checkpoint`, only the chamas
    with journals posted since their last clean check are walked, and only from there."""
    chamas = Chama.objects.all() if chama is None else Chama.objects.filter(pk=chama.pk)
    if since_checkpoint:
        moved = LedgerChain.objects.exclude(position=F("verified_position")).values("pk")
        unchained = Journal.objects.filter(chain_position__isnull=True).values("chama")
        chamas = chamas.filter(pk__in=moved) | chamas.filter(pk__in=unchained)
    found, chamas = [], list(chamas.order_by("pk"))
    for done, each in enumerate(chamas, start=1):
        broken = verify(each, since_checkpoint=since_checkpoint)
        if broken:
            found.append(broken)
        if progress:
            progress(done, len(chamas))
    return found
