"""Notify a person: in the app at once, by email and SMS from the task queue once the transaction
commits (so a rolled-back payment sends nothing, and a slow provider never holds up a request),
each key at most once. The delivery and its retries are `chama.tasks.deliver_notification`."""

from django.db import IntegrityError, transaction

from chama.models import Notification
from chama.tasks import enqueue_delivery


def notify(user, *, title, body, kind=Notification.Kind.GENERAL, dedupe_key="", expires_date=None):
    """Create the in-app notification and queue its email/SMS; None if this key was sent before."""
    if dedupe_key and Notification.objects.filter(user=user, dedupe_key=dedupe_key).exists():
        return None
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                user=user, kind=kind, title=title[:150], body=body, dedupe_key=dedupe_key, expires_date=expires_date
            )
    except IntegrityError:  # the same key, sent at the same moment by another worker
        return None
    # robust: a queue that cannot take the delivery must not fail the work (a payment, a reminder
    # run) that has already committed; the person still has the notification in the app.
    transaction.on_commit(lambda: enqueue_delivery(notification.pk), robust=True)
    return notification
