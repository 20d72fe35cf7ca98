"""`/healthz`: every check named with ok or failing, 503 naming the one that failed, no login asked,
no secret shown; checks are added by name in settings.HEALTH_CHECKS."""

import logging

import pytest
from django.db import OperationalError
from django.test import Client, override_settings

from chama.request_id import RequestIdFilter

URL = "/healthz"
LEAKED = "password=hunter2 host=db.internal"
REDIS_DB_6 = "redis://127.0.0.1:6379/6"


def database():
    """The database as a check sees it when PostgreSQL is down."""
    raise OperationalError(f'connection to server failed: FATAL: {LEAKED} "chama"')


def queue():
    """A queue check that passes, added by name as the background jobs add theirs."""


def redis_cache(location):
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}}


@pytest.fixture
def health_log():
    """The records of chama.health, through the filter the log handlers use."""
    records = []
    handler = logging.Handler()
    handler.addFilter(RequestIdFilter())
    handler.emit = records.append
    logger = logging.getLogger("chama.health")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_all_checks_pass_without_a_login():
    response = Client().get(URL)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "queue": "ok"}}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
@override_settings(CACHES=redis_cache(REDIS_DB_6))
def test_the_cache_check_sets_and_gets_on_redis():
    response = Client().get(URL)

    assert response.status_code == 200, response.content
    assert response.json()["checks"]["cache"] == "ok"


@pytest.mark.django_db
@override_settings(CACHES=redis_cache("redis://:s3cret-pass@127.0.0.1:1/0"))
def test_a_cache_that_does_not_answer_is_named_and_nothing_else_shown(health_log):
    response = Client().get(URL, HTTP_X_REQUEST_ID="probe-7")

    assert response.status_code == 503
    assert response.json() == {
        "status": "failing",
        "checks": {"database": "ok", "cache": "failing", "queue": "ok"},
        "failed": ["cache"],
    }
    assert b"s3cret" not in response.content and b"127.0.0.1" not in response.content
    (record,) = health_log
    assert record.levelno == logging.ERROR and record.exc_info  # why, for the operator
    assert record.request_id == "probe-7"


@pytest.mark.django_db
@override_settings(HEALTH_CHECKS=["tests.chama.test_health.database", "chama.health.cache"])
def test_a_database_that_is_down_is_named_and_its_error_not_shown(health_log):
    response = Client().get(URL)

    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert response.json()["checks"] == {"database": "failing", "cache": "ok"}
    assert b"hunter2" not in response.content and b"db.internal" not in response.content
    assert "database" in health_log[0].getMessage()


@pytest.mark.django_db
@override_settings(HEALTH_CHECKS=["chama.health.database", "chama.health.cache", "tests.chama.test_health.queue"])
def test_a_check_is_added_by_its_dotted_name():
    response = Client().get(URL)

    assert response.status_code == 200
    assert list(response.json()["checks"]) == ["database", "cache", "queue"]


@pytest.mark.django_db
def test_a_queue_that_does_not_answer_is_named(monkeypatch, health_log):
    monkeypatch.setattr("chama.tasks.queue_ok", lambda: (False, "RQBackend: ConnectionError: refused"))

    response = Client().get(URL)

    assert response.status_code == 503
    assert response.json()["failed"] == ["queue"]
    assert b"refused" not in response.content


def test_the_real_database_check_runs_a_query(django_assert_num_queries, db):
    from chama import health

    with django_assert_num_queries(1):
        health.database()


@pytest.mark.django_db
def test_only_get_is_answered():
    assert Client().post(URL).status_code == 405
