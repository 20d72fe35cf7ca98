"""Uploaded documents: stored under random names, checked for size and type, linked to the one
access-checked download view (`chama.downloads`), never to a public media URL.

Every upload field is a `DocumentField`:

    receipt = DocumentField(folder="receipts", types=RECEIPT_TYPES, blank=True)

- The file is saved as `<folder>/<year>/<32 random hex digits>.<extension>`: the uploaded name is
  dropped (it is guessable, and may carry a member's name), so a stored name says nothing and
  cannot be guessed. The download view names the file from the row instead.
- It is refused above `UPLOAD_MAX_BYTES`, with an extension outside `types`, or when its first
  bytes are not what its extension says (an HTML page renamed .pdf).
- `field_file.url` is the download view's address, so the admin's links, its "Currently:" link
  and the API's file URLs all go through the access check.
"""

import codecs
import secrets
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.fields.files import FieldFile
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

FILE_TOO_LARGE = "file_too_large"

PDF, IMAGES, WORD = ("pdf",), ("jpg", "jpeg", "png"), ("doc", "docx")
RECEIPT_TYPES = PDF + IMAGES

# What a file of each type starts with. A type missing here cannot be uploaded.
_ZIP = b"PK\x03\x04"  # .docx and .odt are zip archives
_SIGNATURES = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),  # the OLE2 container of Word 97-2003
    "docx": (_ZIP,),
    "odt": (_ZIP,),
    "xlsx": (_ZIP,),
    "txt": (),  # no signature: checked as UTF-8 text instead
    "csv": (),
}
_HEAD_BYTES = 4096

# What each type is served as. Anything else is a download of unknown type.
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
UNKNOWN_CONTENT_TYPE = "application/octet-stream"


def extension(name):
    """The lower-case extension of a file name, without the dot ("" when it has none)."""
    return PurePosixPath(name or "").suffix.lower().lstrip(".")


def content_type(name):
    return CONTENT_TYPES.get(extension(name), UNKNOWN_CONTENT_TYPE)


class RandomName:
    """`upload_to` for every document: `<folder>/<year>/<random>.<extension>`."""

    def __init__(self, folder):
        self.folder = folder

    def __call__(self, instance, filename):
        suffix = extension(filename)
        suffix = f".{suffix}" if suffix in _SIGNATURES else ""
        return f"{self.folder}/{timezone.now():%Y}/{secrets.token_hex(16)}{suffix}"


def _is_text(head):
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _type_names(types):
    names = [kind.upper() for kind in types]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


class DocumentValidator:
    """Size, extension and leading bytes of a newly uploaded file. A file already stored was
    checked when it was uploaded, and is not read again each time its row is saved."""

    def __init__(self, types):
        self.types = tuple(types)

    def __call__(self, value):
        if isinstance(value, FieldFile) and value._committed:
            return
        upload = value.file if isinstance(value, FieldFile) else value
        limit = settings.UPLOAD_MAX_BYTES
        if upload.size is not None and upload.size > limit:
            raise ValidationError(
                f"The file is {filesizeformat(upload.size)}; documents are at most {filesizeformat(limit)}.",
                code=FILE_TOO_LARGE,
            )
        kind = extension(upload.name)
        if kind not in self.types:
            raise ValidationError(
                f"Upload a {_type_names(self.types)} file; “.{kind}” files are not accepted."
                if kind
                else f"Upload a {_type_names(self.types)} file (the name needs its extension).",
                code="invalid_extension",
            )
        upload.seek(0)
        head = upload.read(_HEAD_BYTES)
        upload.seek(0)
        signatures = _SIGNATURES[kind]
        if not (head.startswith(signatures) if signatures else _is_text(head)):
            raise ValidationError(
                f"This file is not a real {kind.upper()} file: its contents do not match its name.",
                code="invalid_file_type",
            )


class DocumentFile(FieldFile):
    @property
    def url(self):
        from chama import downloads  # imported here: the download view's module imports this one

        self._require_file()
        return downloads.url_for(self.instance, self.field.name)


class DocumentField(models.FileField):
    """A FileField for documents: random names, size and type limits, served by the download view."""

    attr_class = DocumentFile

    def __init__(self, *args, folder, types, **kwargs):
        unknown = set(types) - set(_SIGNATURES)
        if unknown:
            raise ValueError(f"No signature is known for {sorted(unknown)}: add one to chama.uploads.")
        self.folder, self.types = folder, tuple(types)
        kwargs["upload_to"] = RandomName(folder)
        super().__init__(*args, **kwargs)

    @property
    def validators(self):
        return [*super().validators, DocumentValidator(self.types)]

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        del kwargs["upload_to"]
        kwargs.update(folder=self.folder, types=list(self.types))
        return name, path, args, kwargs
