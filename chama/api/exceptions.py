"""JSON errors everywhere under /api/: a message per field for bad input, never an HTML page."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from chama import signals
from chama.uploads import FILE_TOO_LARGE


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        if getattr(exc, "code", None) == "permission":
            exc = exceptions.PermissionDenied(" ".join(exc.messages))
        else:
            exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        signals.refused(context.get("request"), exc)
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, IntegrityError):
        # A unique constraint lost a race with a concurrent request: the caller may simply retry.
        return Response(
            {"detail": "This conflicts with a change saved at the same moment; please try again."},
            status=status.HTTP_409_CONFLICT,
        )
    response = drf_exception_handler(exc, context)
    if isinstance(exc, exceptions.ValidationError) and FILE_TOO_LARGE in _codes(exc.get_codes()):
        # The body itself was too large: the same field messages, under the status that says so.
        response.status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    return response


def _codes(codes):
    if isinstance(codes, dict):
        return {code for value in codes.values() for code in _codes(value)}
    if isinstance(codes, list):
        return {code for value in codes for code in _codes(value)}
    return {codes}


def _is_api(request):
    return request.path.startswith("/api/")


def not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse({"detail": "Server error. The failure was logged."}, status=500)
    return defaults.server_error(request)
