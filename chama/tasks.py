"""Background tasks (the Django tasks API, `django_tasks`): work that runs off the request.

The backend is a setting (`TASKS`, see README "Background jobs and the schedule"): the database
backend by default (the worker is `manage.py db_worker`), RQ on Redis in production (`manage.py
rqworker default --with-scheduler --job-class django_tasks_rq.Job`), the immediate backend in tests
(a task runs as it is enqueued).

The tasks API has no retries of its own, so a task that can fail for a while (a provider down) calls
`retry_or_dead_letter`: it is enqueued again after the next delay of `TASK_RETRY_DELAYS` (seconds),
and after its last attempt a `DeadLetter` row keeps what it was and why it failed; platform staff
send it back to the queue from the back office (`dead_letter_retry`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task, task_backends
from django_tasks.base import Task

from chama import authority
from chama.models import DeadLetter, Notification, NotificationPreference
from chama.sms import send_sms

if TYPE_CHECKING:
    from chama.models import User

logger = logging.getLogger("chama.tasks")

EMAIL, SMS = "email", "sms"


def retry_delays() -> list[int]:
    """Seconds to wait before each retry; a task has len(delays) + 1 attempts in all."""
    return list(settings.TASK_RETRY_DELAYS)


def retry_or_dead_letter(work: Task, *, attempt: int, error: str, args: list, kwargs: dict) -> DeadLetter | None:
    """Enqueue `work` again (attempt + 1) after its next delay, or, after its last attempt, keep a
    dead letter and return it."""
    delays = retry_delays()
    if attempt <= len(delays):
        retry = work
        if retry.get_backend().supports_defer:
            retry = work.using(run_after=timezone.now() + timedelta(seconds=delays[attempt - 1]))
        try:
            retry.enqueue(*args, **{**kwargs, "attempt": attempt + 1})
            return None
        except Exception as exc:  # the queue itself is down: keep the letter rather than lose the work
            error = f"{error}\nThe retry could not be queued: {type(exc).__name__}: {exc}"
    letter = DeadLetter.objects.create(
        task_path=work.module_path, args=list(args), kwargs=dict(kwargs), attempts=attempt, error=error
    )
    logger.error("%s gave up after %s attempt(s): dead letter #%s", work.module_path, attempt, letter.pk)
    return letter


def _channels_wanted(notification: Notification) -> list[str]:
    user = notification.user
    preference = NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)
    channels = []
    if preference.email and user.email:
        channels.append(EMAIL)
    if preference.sms and user.phone_number:
        channels.append(SMS)
    return channels


@task()
def deliver_notification(notification_id: int, channels: list[str] | None = None, attempt: int = 1) -> list[str]:
    """Send a notification by email and SMS as its person prefers (`channels`: only these, on a
    retry); a channel that fails is tried again later, the others are not sent twice. Returns the
    channels sent."""
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None:  # deleted meanwhile: nothing to send
        return []
    user = notification.user
    sent, failed = [], {}
    for channel in channels if channels is not None else _channels_wanted(notification):
        try:
            if channel == EMAIL:
                send_mail(notification.title, notification.body, settings.DEFAULT_FROM_EMAIL, [user.email])
            else:
                send_sms(user.phone_number, f"{notification.title}: {notification.body}"[:320])
        except Exception as exc:  # any backend's or provider's failure; the notification stays in the app
            logger.warning("%s of notification #%s failed (attempt %s): %s", channel, notification.pk, attempt, exc)
            failed[channel] = f"{channel}: {type(exc).__name__}: {exc}"
        else:
            sent.append(channel)
    if failed:
        retry_or_dead_letter(
            deliver_notification,
            attempt=attempt,
            error="\n".join(failed.values()),
            args=[notification_id],
            kwargs={"channels": list(failed)},
        )
    return sent


@task()
def run_scheduled_job(name: str, chama_id: int | None = None, attempt: int = 1) -> list[str]:
    """One scheduled job (`chama.jobs.JOBS`) for every chama (or one), each under its advisory
    lock; a chama whose run failed is retried later on its own. The lines of its report."""
    from chama import jobs

    report = jobs.run_job(name, chama_id=chama_id)
    for failed_chama, error in report.failed:
        retry_or_dead_letter(
            run_scheduled_job, attempt=attempt, error=error, args=[name], kwargs={"chama_id": failed_chama}
        )
    return report.lines()


def dead_letter_retry(*, letter: DeadLetter, by: User) -> None:
    """Send a dead letter's task back to the queue, from its first attempt (platform staff only)."""
    reason = authority.refusal_anywhere(by, "retry_dead_letters")
    if reason:
        raise authority.Refused(reason)
    work = import_string(letter.task_path)
    if not isinstance(work, Task):  # only a task of ours is ever run from a stored path
        raise ValueError(f"{letter.task_path} is not a task.")
    kwargs = {**letter.kwargs, "attempt": 1}
    work.enqueue(*letter.args, **kwargs)
    letter.retried_date, letter.retried_by = timezone.now(), by
    letter.save(update_fields=["retried_date", "retried_by", "updated_date"])


def queue_ok() -> tuple[bool, str]:
    """Whether the task queue answers (for a health check): (ok, what was checked)."""
    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    name = type(backend).__name__
    try:
        if name == "RQBackend":
            import django_rq

            django_rq.get_connection().ping()
        elif name == "DatabaseBackend":
            from django_tasks_db.models import DBTaskResult

            DBTaskResult.objects.exists()
    except Exception as exc:  # the health check reports any failure, it does not raise
        return False, f"{name}: {type(exc).__name__}: {exc}"
    return True, name


def enqueue_delivery(notification_id: int) -> Any:
    """Queue the email/SMS of a notification (called once its transaction has committed)."""
    return deliver_notification.enqueue(notification_id)
