"""The one way a stored document leaves the server: an access-checked download.

Each app registers its document fields (`chama.uploads.DocumentField`) from its `AppConfig.ready()`:
the model and field, the authority action a reader needs (None: every active member of the row's
chama) and, optionally, who may read a row whatever their role (a borrower, his own loan's
collateral). `GET /api/v1/files/<kind>/<pk>/`, with a JWT or the back-office session, answers:

- not logged in: 401 (a browser without a token is sent to the login page instead);
- a row of a chama the reader is not an active member of, an empty field or a file missing from
  storage: 404, the same answer as for a row that does not exist;
- a member whose role may not read it: 403 with the reason (they can see the chama already);
- otherwise the file, as an attachment named after the row, never rendered by the browser.

A kind may also say what happens just before its file is served (`on_serve`): a generated report counts its
downloads there, and refuses one past its expiry.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions
from rest_framework import serializers as drf
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from chama import authority, tenancy
from chama.api.schema import ChamaAutoSchema
from chama.uploads import CONTENT_TYPES, UNKNOWN_CONTENT_TYPE, content_type, extension


@dataclass(frozen=True)
class Document:
    kind: str  # the URL's name for it
    model: type
    field: str
    action: str | None  # the authority action a reader needs; None: every active member of the chama
    readers: Callable | None  # row -> ids of people who may read it whatever their role
    filename: Callable  # row -> the download's name, without extension
    on_serve: Callable | None  # row -> None, as the file is served (may refuse it: raise Http404)


_documents = {}  # kind -> Document
_kinds = {}  # ("app.model", field) -> kind


def register(kind, model, field, *, action=None, readers=None, filename=None, on_serve=None):
    existing = _documents.get(kind)
    if existing is not None and (existing.model, existing.field) != (model, field):
        raise ImproperlyConfigured(f"The document kind {kind!r} is registered for another field already.")
    _documents[kind] = Document(
        kind, model, field, action, readers, filename or (lambda row: f"{kind}-{row.pk}"), on_serve
    )
    _kinds[(model._meta.label_lower, field)] = kind


def documents():
    return dict(_documents)


def document_of(row, field):
    key = (row._meta.concrete_model._meta.label_lower, field)
    if key not in _kinds:
        raise ImproperlyConfigured(
            f"{key[0]}.{field} holds documents, but no app registered who may read them (chama.downloads.register)."
        )
    return _documents[_kinds[key]]


def url_for(row, field):
    if row.pk is None:
        raise ValueError("A document has no address until its row is saved.")
    return reverse("document-download", kwargs={"kind": document_of(row, field).kind, "pk": row.pk})


def _chama_of(row):
    return row if tenancy.chama_lookup(type(row)) == "pk" else row.chama


def require_reader(user, document, row):
    """404 unless `user` is an active member of the row's chama (superusers: any chama); 403 with the
    reason unless their role, or the row itself, lets them read it."""
    if not (user.is_active and user.is_superuser) and not tenancy.chama_ids_of(row) & tenancy.member_chama_ids(user):
        raise Http404
    if document.readers is not None and user.pk in document.readers(row):
        return
    if document.action is not None:
        authority.require(user, document.action, row, chama=_chama_of(row))


def file_response(document, row):
    stored = getattr(row, document.field)
    if not stored:
        raise Http404("No document is attached here.")
    try:
        handle = stored.storage.open(stored.name, "rb")
    except FileNotFoundError:
        raise Http404("The file of this document is missing from storage.") from None
    suffix = extension(stored.name)
    name = (slugify(document.filename(row)) or document.kind) + (f".{suffix}" if suffix else "")
    response = FileResponse(handle, as_attachment=True, filename=name, content_type=content_type(stored.name))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    # Opened in a tab anyway, an uploaded page runs no script and loads nothing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def serve(user, row, field):
    """The download of `row`'s document in `field`, if `user` may read it (the shared check)."""
    document = document_of(row, field)
    require_reader(user, document, row)
    if document.on_serve is not None:
        document.on_serve(row)
    return file_response(document, row)


class _WhateverIsAccepted(BaseContentNegotiation):
    """A download answers any Accept header (a phone asks for application/pdf); errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _DocumentSchema(ChamaAutoSchema):
    def get_override_parameters(self):
        return [
            OpenApiParameter(
                "kind", str, OpenApiParameter.PATH, enum=sorted(_documents), description="Which kind of document."
            )
        ]


_ERROR = inline_serializer("DownloadError", {"detail": drf.CharField()})
# What a download answers, for the OpenAPI schema of every route that serves one.
DOWNLOAD_RESPONSES = {
    **{
        (200, media_type): OpenApiTypes.BINARY
        for media_type in sorted(
            {media_type.split(";")[0] for media_type in CONTENT_TYPES.values()} | {UNKNOWN_CONTENT_TYPE}
        )
    },
    401: OpenApiResponse(_ERROR, description="Not logged in."),
    403: OpenApiResponse(_ERROR, description="Your role in the document's chama may not read it."),
    404: OpenApiResponse(_ERROR, description="No such document in your chamas, or its file is missing."),
}


def _wants_login_page(request):
    return "HTTP_AUTHORIZATION" not in request.META and "text/html" in request.META.get("HTTP_ACCEPT", "")


class DocumentDownloadView(APIView):
    """Download a document: a chama's constitution, an expense's or income's receipt, a loan's
    collateral document, a meeting's minutes attachment."""

    permission_classes = []  # said below, so that a browser is sent to the login page
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _WhateverIsAccepted
    schema = _DocumentSchema()

    @extend_schema(responses=DOWNLOAD_RESPONSES)
    def get(self, request, kind, pk):
        if not request.user.is_authenticated:
            if _wants_login_page(request):
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            raise exceptions.NotAuthenticated
        document = _documents.get(kind)
        row = document.model._default_manager.filter(pk=pk).first() if document else None
        if row is None:
            raise Http404
        return serve(request.user, row, document.field)


def check_documents_registered(app_configs=None, **kwargs):
    """A system check: a document field nobody said who may read could never be downloaded."""
    from django.apps import apps
    from django.core import checks

    from chama.uploads import DocumentField

    return [
        checks.Error(
            f"{model._meta.label}.{field.name} holds documents, but no app registered who may read them.",
            hint="Call chama.downloads.register() from the app's AppConfig.ready().",
            obj=field,
            id="chama.E001",
        )
        for model in apps.get_models()
        for field in model._meta.fields
        if isinstance(field, DocumentField) and (model._meta.label_lower, field.name) not in _kinds
    ]
