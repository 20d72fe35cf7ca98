"""Scheduled jobs run twice at once (PostgreSQL): the advisory lock of (job, chama) lets one run
do the work and the other skip that chama and say so."""

import threading
from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection

from chama import jobs
from chama.locking import advisory_lock
from finance.models import Due
from finance.services import dues as dues_service
from tests.concurrency.threads import run_at_once
from tests.factories import ChamaFactory, joined
from tests.helpers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def monthly():
    chama = ChamaFactory(
        policy={"contribution_amount": D("1000"), "contribution_frequency": "monthly", "contribution_due_day": 5}
    )
    for _ in range(5):
        joined(chama)
    dues_service.contribution_plan_from_policy(chama, start_date=date.today().replace(day=1))
    return chama


def test_a_second_run_skips_the_chama_whose_lock_is_held(monthly):
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with advisory_lock("generate_dues", chama_id=monthly.pk) as acquired:
                assert acquired
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    try:
        skipped = jobs.run_job("generate_dues", chama_id=monthly.pk)
        other_job = jobs.run_job("apply_penalties", chama_id=monthly.pk)  # another job's lock is another lock
    finally:
        release.set()
        holder.join()

    assert skipped.skipped == [monthly.pk] and skipped.done == []
    assert skipped.lines() == [f"generate_dues, chama {monthly.pk}: skipped, another run holds its lock"]
    assert Due.objects.filter(chama=monthly).count() == 0
    assert other_job.done == [(monthly.pk, "0 fine(s) charged")]
    assert jobs.run_job("generate_dues", chama_id=monthly.pk).done == [(monthly.pk, "5 due(s) raised")]


def test_two_runs_at_once_raise_each_due_once(monthly):
    results, errors = run_at_once(lambda i: jobs.run_job("generate_dues", chama_id=monthly.pk), 2)

    assert errors == {}
    assert Due.objects.filter(chama=monthly).count() == 5
    outcomes = sorted(what for report in results.values() for _, what in report.done)
    skipped = [chama_id for report in results.values() for chama_id in report.skipped]
    # one run raised all five; the other either found the lock held or came after and found nothing
    assert outcomes in (["5 due(s) raised"], ["0 due(s) raised", "5 due(s) raised"])
    assert len(outcomes) + len(skipped) == 2


def test_the_lock_is_released_after_the_block(monthly):
    with advisory_lock("generate_dues", chama_id=monthly.pk) as first:
        pass
    with advisory_lock("generate_dues", chama_id=monthly.pk) as second:
        pass

    assert first and second
