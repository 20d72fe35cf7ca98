"""The production queue for real: RQ on Redis (`TASKS_BACKEND=rq`). A notification's delivery is
enqueued on Redis when its transaction commits, a worker burst sends it, and a failed SMS is
scheduled again on Redis for its retry. Skipped, saying why, only when Redis cannot be reached."""

import os

import pytest
import redis

from chama.notify import notify
from chama.sms import MemoryBackend
from chama.tasks import queue_ok
from config.settings.base import rq_queue as rq_queue_settings
from tests.factories import ChamaFactory, member
from tests.helpers import SmsGatewayDownFor

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")

pytestmark = pytest.mark.django_db


@pytest.fixture
def rq_queue(settings):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} cannot be reached ({exc}); set TEST_REDIS_URL to test the RQ backend")
    import django_rq
    from django_tasks_rq.backend import Job
    from rq.registry import ScheduledJobRegistry

    settings.RQ_QUEUES = {"default": rq_queue_settings(REDIS_URL, timeout=60)}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.SMS_BACKEND = "tests.helpers.SmsGatewayDownFor"
    queue = django_rq.get_queue("default", job_class=Job)
    scheduled = ScheduledJobRegistry(queue=queue)

    def clear():
        queue.empty()
        for job_id in scheduled.get_job_ids():
            scheduled.remove(job_id, delete_job=True)

    clear()
    MemoryBackend.outbox.clear()
    yield queue, scheduled
    clear()
    MemoryBackend.outbox.clear()
    SmsGatewayDownFor.number = ""


def burst(queue):
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    SimpleWorker([queue], connection=queue.connection, job_class=Job).work(burst=True)


def test_a_delivery_goes_through_redis_and_a_worker_sends_it(rq_queue, mailoutbox, django_capture_on_commit_callbacks):
    queue, _ = rq_queue
    person = member(ChamaFactory(name="Umoja"))

    with django_capture_on_commit_callbacks(execute=True):
        notify(person, title="AGM", body="The AGM is on 28 March.")
    assert queue.count == 1 and mailoutbox == [] and MemoryBackend.outbox == []
    [job_id] = queue.job_ids

    burst(queue)

    assert [message.to for message in mailoutbox] == [[person.email]]
    assert MemoryBackend.outbox == [(str(person.phone_number), "AGM: The AGM is on 28 March.")]
    from django_tasks import task_backends

    result = task_backends["default"].get_result(job_id)
    assert (result.status, result.return_value) == ("SUCCESSFUL", ["email", "sms"])
    assert queue_ok() == (True, "RQBackend")


def test_a_failed_sms_is_scheduled_again_on_redis(rq_queue, mailoutbox, django_capture_on_commit_callbacks):
    queue, scheduled = rq_queue
    person = member(ChamaFactory(name="Umoja"))
    SmsGatewayDownFor.number = str(person.phone_number)

    with django_capture_on_commit_callbacks(execute=True):
        notify(person, title="AGM", body="The AGM is on 28 March.")
    burst(queue)

    assert len(mailoutbox) == 1 and MemoryBackend.outbox == []
    [retry_id] = scheduled.get_job_ids()
    retry = queue.fetch_job(retry_id)
    assert retry.kwargs == {"channels": ["sms"], "attempt": 2}


def test_every_job_enqueued_shares_the_process_pool(rq_queue, settings):
    import django_rq

    pool = settings.RQ_QUEUES["default"]["REDIS_CLIENT_KWARGS"]["connection_pool"]
    assert django_rq.get_connection("default").connection_pool is pool
    assert django_rq.get_queue("default").connection.connection_pool is pool


def test_a_receipt_is_written_and_sent_by_the_worker(rq_queue, mailoutbox, django_capture_on_commit_callbacks):
    from decimal import Decimal

    from chama.models import Notification
    from chama.roles import Role
    from finance.services.dues import payment_record
    from tests.factories import joined

    queue, _ = rq_queue
    chama = ChamaFactory(name="Umoja")
    treasurer, wanjiku = joined(chama, Role.TREASURER).user, joined(chama)
    with django_capture_on_commit_callbacks(execute=True):
        journal = payment_record(membership=wanjiku, amount=Decimal("1500"), method="cash", by=treasurer)
    assert queue.count == 1 and not Notification.objects.filter(user=wanjiku.user).exists()

    with django_capture_on_commit_callbacks(execute=True):
        burst(queue)  # the receipt is written; its email and SMS are queued
    burst(queue)

    assert Notification.objects.get(user=wanjiku.user).dedupe_key == f"receipt-{journal.pk}"
    assert [message.to for message in mailoutbox] == [[wanjiku.user.email]]
