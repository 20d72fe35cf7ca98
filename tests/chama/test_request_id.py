"""A request id on every answer and every log line of the request; log lines in JSON with it, and
M-Pesa callback secrets never written."""

import json
import logging

import pytest
from django.test import Client

from chama.request_id import NO_REQUEST, RequestIdFilter, current_request_id
from config.logs import AccessJsonFormatter, JsonFormatter

SECRET_PATH = "/api/v1/chamas/4/mpesa/c2b/Zq9-secret-of-the-channel/"


@pytest.fixture
def request_log():
    """The records of django.request (Django's line for every 4xx/5xx), through our filter."""
    records = []
    handler = logging.Handler()
    handler.addFilter(RequestIdFilter())
    handler.emit = records.append
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_the_callers_id_is_answered_back():
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="3f2a9c0e-proxy-id")

    assert response["X-Request-ID"] == "3f2a9c0e-proxy-id"


@pytest.mark.django_db
def test_an_id_is_made_when_none_comes():
    first = Client().get("/healthz")["X-Request-ID"]
    second = Client().get("/healthz")["X-Request-ID"]

    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


@pytest.mark.django_db
@pytest.mark.parametrize("sent", ["two words", "x" * 129, 'id"}{"level":"CRITICAL'], ids=["space", "long", "json"])
def test_an_id_that_is_not_a_plain_token_is_replaced(sent):
    answered = Client().get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]

    assert answered != sent and len(answered) == 32


@pytest.mark.django_db
def test_the_id_is_on_the_log_records_of_the_request_and_gone_after(request_log):
    response = Client().get("/no-such-page/", HTTP_X_REQUEST_ID="req-404")

    assert response.status_code == 404
    (record,) = request_log
    assert record.getMessage().startswith("Not Found")
    assert record.request_id == "req-404"
    assert current_request_id.get() == NO_REQUEST


@pytest.mark.django_db
def test_every_answer_carries_an_id_refusals_included():
    assert Client().get("/api/v1/me/")["X-Request-ID"]  # 401: not logged in


def record(name="chama.health", message="checked %s", args=("database",), **extra):
    made = logging.LogRecord(name, logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_json_lines_carry_the_request_id_and_leave_the_request_object_out():
    line = record(request=object(), status_code=404, request_id="abc")

    written = json.loads(JsonFormatter().format(line))

    assert written["request_id"] == "abc"
    assert written["level"] == "WARNING" and written["logger"] == "chama.health"
    assert written["message"] == "checked database"
    assert written["status_code"] == 404
    assert "request" not in written
    assert written["time"].endswith("+00:00")


def test_json_lines_never_write_a_callback_secret():
    written = json.loads(JsonFormatter().format(record(message="Not Found: %s", args=(SECRET_PATH,))))

    assert "Zq9-secret" not in json.dumps(written)
    assert written["message"] == "Not Found: /api/v1/chamas/4/mpesa/c2b/***/"


def test_the_access_log_is_json_with_the_answered_id_and_no_secret():
    atoms = {
        "m": "POST",
        "U": SECRET_PATH,
        "q": "",
        "s": "200",
        "B": 17,
        "M": 12,
        "h": "127.0.0.1",
        "a": "Safaricom",
        "{x-forwarded-for}i": "196.201.214.200",
        "{x-request-id}o": "nginx-req-1",
    }
    line = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(m)s %(U)s", (atoms,), None)

    written = json.loads(AccessJsonFormatter().format(line))

    assert "Zq9-secret" not in json.dumps(written)
    assert written["path"] == "/api/v1/chamas/4/mpesa/c2b/***/"
    assert written["status"] == 200 and written["duration_ms"] == 12 and written["bytes"] == 17
    assert written["request_id"] == "nginx-req-1"
    assert written["forwarded_for"] == "196.201.214.200"
