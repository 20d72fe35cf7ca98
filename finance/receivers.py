"""What the money app does when a journal is posted (`finance.signals.journal_posted`), connected
in `FinanceConfig.ready()`."""

from __future__ import annotations

import logging
from typing import Any

from finance.models import Journal
from finance.tasks import send_receipt

logger = logging.getLogger("finance.receipts")

# Money a member paid in: each one gets a receipt (a member who sees every shilling recorded is the
# chama's best defence against a mistake).
RECEIPT_KINDS = {
    Journal.Kind.PAYMENT,
    Journal.Kind.SAVINGS_DEPOSIT,
    Journal.Kind.SHARE_PURCHASE,
    Journal.Kind.LOAN_REPAYMENT,
}


def queue_receipt(sender: type[Journal], journal: Journal, **kwargs: Any) -> None:
    """Queue the member's receipt for money they paid in: the worker writes and sends it, off the
    request. A queue that cannot take it gets the receipt written here instead, so none is lost."""
    if journal.membership_id is None or journal.kind not in RECEIPT_KINDS:
        return
    try:
        send_receipt.enqueue(journal.pk)
    except Exception:  # the queue is down: the payment is committed, its receipt is still owed
        logger.exception("Could not queue the receipt of journal #%s: writing it now", journal.pk)
        send_receipt.call(journal.pk)
