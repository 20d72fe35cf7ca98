"""Background delivery of notifications (`chama.tasks`): retries with the failed channel only, a
dead letter after the last attempt, its retry from the back office (platform staff only), and the
queue check a health endpoint calls. Tasks run as they are enqueued here (settings.test)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from chama.authority import Refused
from chama.models import DeadLetter, Notification
from chama.notify import notify
from chama.roles import Role
from chama.sms import MemoryBackend
from chama.tasks import dead_letter_retry, deliver_notification, queue_ok
from tests.factories import ChamaFactory, UserFactory, member

pytestmark = pytest.mark.django_db


class FlakyGateway:
    """An SMS provider that fails its first `failures` sends, then delivers."""

    failures = 0
    calls = 0

    def send(self, phone_number, text):
        FlakyGateway.calls += 1
        if FlakyGateway.calls <= FlakyGateway.failures:
            raise ConnectionError("SMS gateway timed out")
        MemoryBackend().send(phone_number, text)


@pytest.fixture
def flaky_sms(settings):
    MemoryBackend.outbox.clear()
    settings.SMS_BACKEND = f"{__name__}.FlakyGateway"
    settings.TASK_RETRY_DELAYS = [60, 300]  # three attempts in all
    FlakyGateway.calls = 0

    def failing(times):
        FlakyGateway.failures = times

    yield failing
    FlakyGateway.failures = FlakyGateway.calls = 0
    MemoryBackend.outbox.clear()


@pytest.fixture
def sms_outbox():
    MemoryBackend.outbox.clear()
    yield MemoryBackend.outbox
    MemoryBackend.outbox.clear()


@pytest.fixture
def person():
    return member(ChamaFactory(name="Umoja"))


def test_a_failed_sms_is_retried_and_the_email_is_not_sent_again(
    person, flaky_sms, mailoutbox, django_capture_on_commit_callbacks
):
    flaky_sms(2)
    with django_capture_on_commit_callbacks(execute=True):
        notify(person, title="AGM", body="The AGM is on 28 March.")

    assert FlakyGateway.calls == 3
    assert MemoryBackend.outbox == [(str(person.phone_number), "AGM: The AGM is on 28 March.")]
    assert [message.to for message in mailoutbox] == [[person.email]]
    assert DeadLetter.objects.count() == 0


def test_after_the_last_attempt_a_dead_letter_keeps_the_failed_channel(
    person, flaky_sms, mailoutbox, django_capture_on_commit_callbacks
):
    flaky_sms(99)
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(person, title="AGM", body="The AGM is on 28 March.")

    assert FlakyGateway.calls == 3 and MemoryBackend.outbox == []
    assert len(mailoutbox) == 1
    letter = DeadLetter.objects.get()
    assert (letter.task_path, letter.args, letter.kwargs, letter.attempts) == (
        "chama.tasks.deliver_notification",
        [notification.pk],
        {"channels": ["sms"]},
        3,
    )
    assert letter.error == "sms: ConnectionError: SMS gateway timed out"
    assert Notification.objects.filter(user=person).count() == 1  # still in the app


def test_platform_staff_retry_a_dead_letter_from_the_back_office(person, flaky_sms, mailoutbox, client):
    flaky_sms(99)
    deliver_notification.enqueue(notify(person, title="AGM", body="On 28 March.").pk)
    letter = DeadLetter.objects.get()
    FlakyGateway.failures = 0  # the provider is back
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)

    response = client.post(
        reverse("admin:chama_deadletter_changelist"), {"action": "retry", "_selected_action": [letter.pk]}
    )

    assert response.status_code == 302
    assert MemoryBackend.outbox == [(str(person.phone_number), "AGM: On 28 March.")]
    assert len(mailoutbox) == 1  # the email went out the first time and is not sent again
    letter.refresh_from_db()
    assert letter.retried_by == admin and letter.retried_date is not None
    assert DeadLetter.objects.count() == 1


def test_officers_do_not_see_dead_letters(person, flaky_sms, client):
    flaky_sms(99)
    deliver_notification.enqueue(notify(person, title="AGM", body="On 28 March.").pk)
    chairperson = member(ChamaFactory(), Role.CHAIRPERSON)
    chairperson.is_staff = True
    chairperson.save()
    client.force_login(chairperson)

    assert client.get(reverse("admin:chama_deadletter_changelist")).status_code == 403
    with pytest.raises(Refused, match="Your role does not allow you to send failed background tasks back"):
        dead_letter_retry(letter=DeadLetter.objects.get(), by=chairperson)


def test_a_deleted_notification_sends_nothing(person, mailoutbox):
    notification = notify(person, title="AGM", body="On 28 March.")
    notification.delete()

    result = deliver_notification.enqueue(notification.pk)

    assert result.return_value == [] and mailoutbox == []


def test_the_queue_check_answers(settings):
    assert queue_ok() == (True, "ImmediateBackend")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert queue_ok() == (True, "DatabaseBackend")


@pytest.mark.django_db(transaction=True)  # the worker closes its connection between tasks
def test_the_database_queue_keeps_the_delivery_for_the_worker(person, settings, mailoutbox, sms_outbox):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    notification = notify(person, title="AGM", body="On 28 March.")  # committed at once: queued

    queued = DBTaskResult.objects.get()
    assert (queued.task_path, queued.args_kwargs) == (
        "chama.tasks.deliver_notification",
        {"args": [notification.pk], "kwargs": {}},
    )
    assert mailoutbox == []

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=StringIO(), stderr=StringIO())

    assert [message.to for message in mailoutbox] == [[person.email]]
    assert sms_outbox == [(str(person.phone_number), "AGM: On 28 March.")]
    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL"


def test_the_queue_check_says_when_redis_does_not_answer(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/5"}}

    ok, what = queue_ok()

    assert not ok and what.startswith("RQBackend: ConnectionError")
