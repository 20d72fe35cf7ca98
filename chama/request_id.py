"""A request id on every request, every answer and every log line written while answering.

The id comes from the `X-Request-ID` header the reverse proxy sets (nginx: `$request_id`), so the
proxy's access log, gunicorn's and the application's lines of one request share it; without one
(or with one that is not a plain token) a new id is made. The answer carries it back in
`X-Request-ID`, for a user's bug report or a client's retry log.
"""

import logging
import re
import uuid
from contextvars import ContextVar

from django.core.signals import request_finished
from django.dispatch import receiver

HEADER = "X-Request-ID"
# What a proxy or client may send: letters, digits and - _ . : (a UUID, nginx's 32 hex digits, a
# trace id). Anything else, or longer, is replaced, so a header cannot write into the logs.
ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{1,128}")
NO_REQUEST = "-"

current_request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(value: str | None) -> str:
    """The id to use for a request whose header was `value`."""
    if value and ACCEPTED.fullmatch(value):
        return value
    return new_request_id()


class RequestIdMiddleware:
    """First in MIDDLEWARE, so every answer carries the id, redirects and refusals included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(HEADER))
        request.request_id = request_id
        # Kept until the answer is closed (forget_request_id), not reset on the way out: Django
        # logs a 4xx/5xx answer (django.request) after the middleware has returned it.
        current_request_id.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


@receiver(request_finished, dispatch_uid="chama.request_id.forget")
def forget_request_id(**kwargs):
    """The answer is closed: later lines of this thread belong to no request."""
    current_request_id.set(NO_REQUEST)


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record (`-` outside a request); set on the log handlers."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True
