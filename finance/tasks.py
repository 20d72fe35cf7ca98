"""Background tasks of the money app (the Django tasks API, see `chama.tasks`)."""

from __future__ import annotations

from django_tasks import task

from chama.models import Notification
from chama.money import shown
from chama.notify import notify
from finance.models import Journal


@task()
def send_receipts(journal_ids: list[int]) -> int:
    """The members' receipts for the money the journals recorded from them (one payment's, or a
    whole collection sheet's), each at most once: its key is the journal's, so a task run again
    writes none twice. Returns how many were written now."""
    journals = Journal.objects.select_related("chama", "membership__user").filter(pk__in=journal_ids).order_by("pk")
    return sum(_receipt(journal) for journal in journals if journal.membership is not None)


def _receipt(journal: Journal) -> bool:
    chama = journal.chama
    amount = shown(journal.amount, chama.currency)
    return (
        notify(
            journal.membership.user,
            kind=Notification.Kind.PAYMENT_RECEIPT,
            dedupe_key=f"receipt-{journal.pk}",
            title=f"{chama.name}: {amount} received",
            body=(
                f"{chama.name} recorded {amount} from you on {journal.value_date:%d %b %Y}: "
                f"{journal.memo}. Receipt no. {journal.pk}."
            ),
        )
        is not None
    )
