"""Background tasks of the money app (the Django tasks API, see `chama.tasks`)."""

from __future__ import annotations

from django_tasks import task

from chama.models import Notification
from chama.money import shown
from chama.notify import notify
from finance.models import Journal


@task()
def send_receipt(journal_id: int) -> bool:
    """The member's receipt for the money a journal recorded from them, at most once (its key is the
    journal's). True when it was written now."""
    journal = Journal.objects.select_related("chama", "membership__user").filter(pk=journal_id).first()
    if journal is None or journal.membership is None:
        return False
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
