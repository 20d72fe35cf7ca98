"""The API checked against its own OpenAPI schema by schemathesis, in process through the WSGI app.

A persona (a member or an officer of a chama holding one of every money and meetings row) sends a
bounded number of generated requests to every operation, valid ones and invalid ones; each response
must be documented (status code, content type, body schema) and none may be a server error.
"""

import re
from contextlib import contextmanager

import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from django.urls import resolve
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.test import APIClient
from schemathesis import GenerationMode

from tests.factories import ChamaFactory, meeting_rows, member, money_rows
from tests.helpers import login_api

# Any status the schema does not list fails `status_code_conformance`, a 500 included (none is
# documented); a documented 502 (M-Pesa unreachable) is an answer, not a server error.
CHECKS = ("status_code_conformance", "content_type_conformance", "response_schema_conformance")

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens, so M-Pesa "cannot be reached" at once


def load_schema():
    config = schemathesis.config.SchemathesisConfig.from_dict(
        {
            "checks": {"enabled": False} | {name: {"enabled": True} for name in CHECKS},
        }
    )
    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=config)


class Persona:
    """A new `role` in a chama with one of every row, logged in with a JWT."""

    def __init__(self, role):
        self.chama = ChamaFactory(name="Contract")
        self.rows = {**money_rows(self.chama), **meeting_rows(self.chama)}
        client = login_api(APIClient(), member(self.chama, role))
        self.authorization = client._credentials["HTTP_AUTHORIZATION"]
        self.row_of_route = {}

    def aim(self, case):
        """Point the case at this chama and, for a route about one row, half the time at a real row
        of the route's kind, so that success responses are checked too, not only 404s."""
        parameters = case.path_parameters
        if not parameters or "chama_id" not in parameters:
            return
        parameters["chama_id"] = self.chama.pk
        path = case.operation.path
        if path not in self.row_of_route:
            self.row_of_route[path] = self._row_for(path)
        row = self.row_of_route[path]
        generated = parameters.get("id")
        if row is not None and isinstance(generated, int) and generated % 2:
            parameters["id"] = row.pk

    def _row_for(self, path):
        if set(re.findall(r"{(\w+)}", path)) != {"chama_id", "id"}:
            return None
        view = resolve(path.format(chama_id=self.chama.pk, id=1)).func
        queryset = getattr(getattr(view, "cls", None), "queryset", None)
        return None if queryset is None else self.rows.get(queryset.model)


@contextmanager
def connection_kept():
    """Requests go through the real WSGI handler, which closes the database connection when each
    request starts and finishes; inside a test that would end the test's transaction."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


# Examples per operation: valid requests (the documented success and errors of real rows) and
# invalid ones (each must be a documented 4xx). Bounded so that both personas finish well inside the
# suite's budget (derandomized: every run sends the same requests).
EXAMPLES = {GenerationMode.POSITIVE: 1, GenerationMode.NEGATIVE: 1}


def contract_failures(role):
    """Every operation's first failure for `role`, as `METHOD path (mode): message` lines."""
    persona = Persona(role)
    with connection_kept(), override_settings(MPESA_BASE_URL=UNREACHABLE):
        return failures_of(load_schema(), persona)


def failures_of(schema, persona):
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, examples in EXAMPLES.items():
            error = _first_failure(operation, mode, persona, examples=examples)
            if error:
                found.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {error}")
                break
    return found


def _first_failure(operation, mode, persona, *, examples):
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        persona.aim(case)
        case.call_and_validate(headers={"Authorization": persona.authorization})

    try:
        check()
    except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - each operation's failure is reported, not raised
        return "\n".join(str(error).strip().splitlines()[:14])
    return None
