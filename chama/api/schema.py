"""OpenAPI description of the API as the server really answers it.

drf-spectacular documents only the success response of an operation. Every operation can also
answer with an error from `chama.api.exceptions`; `ChamaAutoSchema` adds those that can occur to
each operation, so a client (and the contract tests) know every status code the server sends.
"""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import append_meta
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework_simplejwt.views import TokenViewBase


class AuditedJWTScheme(SimpleJWTScheme):
    target_class = "chama.api.authentication.AuditedJWTAuthentication"


ERROR = inline_serializer(
    "Error",
    {
        "detail": serializers.CharField(help_text="What went wrong, in a sentence."),
        "code": serializers.CharField(required=False, help_text="A machine-readable reason, where there is one."),
    },
)

# A 400's body names each field that was refused (`non_field_errors` for the whole request, or
# `detail` when the body could not be read): `{"amount": ["Enter at most two decimals."]}`.
VALIDATION_ERROR = {
    "type": "object",
    "description": "The refused fields, each with its messages.",
    "additionalProperties": {},
}

ERROR_DESCRIPTIONS = {
    "400": "Bad input: a message per field.",
    "401": "Not logged in, or the token is invalid or expired.",
    "403": "Logged in, but not allowed: the reason is in `detail`.",
    "404": "No such row in this chama (or one you may not see).",
    "409": "Conflicts with a change saved at the same moment, or with the row's state: retry or reload.",
    "415": "The body is not in a content type this operation reads (JSON, or a form where files are sent).",
}

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


# JSON Schema's "time" format is RFC 3339's full-time, which needs a UTC offset; the API sends a
# wall-clock time in the chama's time zone ("14:00:00"), so it is documented as what it is.
WALL_CLOCK_TIME = {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$", "example": "14:00:00"}


class ChamaAutoSchema(AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if isinstance(field, serializers.TimeField):
            return append_meta(dict(WALL_CLOCK_TIME), self._get_serializer_field_meta(field, direction))
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code not in responses:
                body = VALIDATION_ERROR if code == "400" else ERROR
                responses[code] = self._get_response_for_code(body, code)
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
        return responses

    def _error_codes(self):
        codes = ["400"] if self.method in WRITES or self._has_query_parameters() else []
        if self.view.get_authenticators() or isinstance(self.view, TokenViewBase):
            codes.append("401")  # a bad token or password is refused even where no login is needed
        if not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            codes.append("403")
        if "{" in self.path or self._is_paginated():
            codes.append("404")  # also a page number past the last page
        if self.method in WRITES:
            codes.append("409")
            if self.get_request_serializer() is not None:
                codes.append("415")
        return codes

    def _is_list_view(self, serializer=None):
        # A few list routes answer one object (a report with its totals), not an array of rows.
        if getattr(self.view, "answers_one_object", False):
            return False
        return super()._is_list_view(serializer)

    def _has_query_parameters(self):
        return any(parameter.get("in") == "query" for parameter in self._get_parameters())

    def _is_paginated(self):
        return self._is_list_view() and self._get_paginator() is not None


# Shapes the server never adds to. Closing them keeps a oneOf of a member's and an officer's view of
# the same row exclusive: an officer's row (with contacts) does not also pass as a member's.
CLOSED_COMPONENTS = ["Person"]


def close_shapes(result, generator, request, public):
    for name in CLOSED_COMPONENTS:
        result["components"]["schemas"][name]["additionalProperties"] = False
    return result
