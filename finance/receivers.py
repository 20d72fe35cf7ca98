"""What the money app does when a journal is posted (`finance.signals.journal_posted`), connected
in `FinanceConfig.ready()`."""

from __future__ import annotations

from typing import Any

from chama.models import Notification
from chama.money import shown
from chama.notify import notify
from finance.models import Journal

# Money a member paid in: each one gets a receipt (a member who sees every shilling recorded is the
# chama's best defence against a mistake).
RECEIPT_KINDS = {
    Journal.Kind.PAYMENT,
    Journal.Kind.SAVINGS_DEPOSIT,
    Journal.Kind.SHARE_PURCHASE,
    Journal.Kind.LOAN_REPAYMENT,
}


def send_receipt(sender: type[Journal], journal: Journal, **kwargs: Any) -> None:
    """The member's receipt for money they paid in, once per journal (its key is the journal's)."""
    if journal.membership_id is None or journal.kind not in RECEIPT_KINDS:
        return
    chama, membership = journal.chama, journal.membership
    notify(
        membership.user,
        kind=Notification.Kind.PAYMENT_RECEIPT,
        dedupe_key=f"receipt-{journal.pk}",
        title=f"{chama.name}: {shown(journal.amount, chama.currency)} received",
        body=(
            f"{chama.name} recorded {shown(journal.amount, chama.currency)} from you on {journal.value_date:%d %b %Y}: "
            f"{journal.memo}. Receipt no. {journal.pk}."
        ),
    )
