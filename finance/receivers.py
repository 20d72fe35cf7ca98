"""What the money app does when a journal is posted (`finance.signals.journal_posted`), connected
in `FinanceConfig.ready()`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from finance.models import Journal
from finance.tasks import send_receipts

logger = logging.getLogger("finance.receipts")

# Money a member paid in: each one gets a receipt (a member who sees every shilling recorded is the
# chama's best defence against a mistake).
RECEIPT_KINDS = {
    Journal.Kind.PAYMENT,
    Journal.Kind.SAVINGS_DEPOSIT,
    Journal.Kind.SHARE_PURCHASE,
    Journal.Kind.LOAN_REPAYMENT,
}


# The journals whose receipts wait for the end of a `receipts_together()` block; None outside one.
_gathered: ContextVar[list[int] | None] = ContextVar("receipts_gathered", default=None)


def queue_receipt(sender: type[Journal], journal: Journal, **kwargs: Any) -> None:
    """Queue the member's receipt for money they paid in: the worker writes and sends it, off the
    request. Inside `receipts_together()` it waits for the block's end, with the others."""
    if journal.membership_id is None or journal.kind not in RECEIPT_KINDS:
        return
    gathered = _gathered.get()
    if gathered is not None:
        gathered.append(journal.pk)
    else:
        _queue([journal.pk])


@contextmanager
def receipts_together() -> Iterator[None]:
    """The receipts of every journal committed in the block are queued as one task when it ends
    (a collection sheet: one push to the queue instead of one a journal). A journal rolled back is
    never announced, so never gathered."""
    token = _gathered.set([])
    try:
        yield
    finally:
        journal_ids = _gathered.get()
        _gathered.reset(token)
        if journal_ids:
            _queue(journal_ids)


def _queue(journal_ids: list[int]) -> None:
    """A queue that cannot take the receipts gets them written here instead, so none is lost."""
    try:
        send_receipts.enqueue(journal_ids)
    except Exception:  # the queue is down: the payments are committed, their receipts still owed
        logger.exception("Could not queue the receipts of journals %s: writing them now", journal_ids)
        send_receipts.call(journal_ids)
