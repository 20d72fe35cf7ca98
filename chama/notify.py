"""Notify a person: in the app at once, by email and SMS after the transaction commits (so a
rolled-back payment sends nothing), each key at most once."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from chama.models import Notification, NotificationPreference
from chama.sms import send_sms

logger = logging.getLogger("chama.notify")


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
    # robust: a provider that fails for one person must not stop the others' deliveries, nor fail
    # the work (a payment, a reminder run) that has already committed.
    transaction.on_commit(lambda: deliver(notification.pk), robust=True)
    return notification


def deliver(notification_id):
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None:
        return
    user = notification.user
    preference = NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)
    if preference.email and user.email:
        try:
            send_mail(notification.title, notification.body, settings.DEFAULT_FROM_EMAIL, [user.email])
        except Exception:  # any backend's failure; the notification stays in the app
            logger.exception("Email of notification #%s to %s failed", notification.pk, user.email)
    if preference.sms and user.phone_number:
        try:
            send_sms(user.phone_number, f"{notification.title}: {notification.body}"[:320])
        except Exception:  # any provider's failure; the notification stays in the app
            logger.exception("SMS of notification #%s to %s failed", notification.pk, user.phone_number)
