"""The `Idempotency-Key` header of every posting route, read one way.

A key is at most 255 characters (a longer one is refused, never cut: two keys that share a prefix
are two postings). A replay answers 200 with the first journal and `Idempotent-Replayed: true`;
a first posting answers 201 (the loan repayment route answers 200 with the loan either way).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import ValidationError

from finance.models import Journal

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_LENGTH = Journal._meta.get_field("idempotency_key").max_length

PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=f"Your unique key for this posting (at most {MAX_LENGTH} characters). A retry with the same key "
    f"posts nothing and answers 200 with the first result and `{REPLAYED_HEADER}: true`.",
)
REPLAYED = OpenApiParameter(
    REPLAYED_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    enum=["true"],
    description="Present on a replay: the posting was made by an earlier request with the same key or reference.",
)


def idempotency_key(request):
    """The request's key, stripped; "" when it sends none. A key over the limit is a 400."""
    key = request.headers.get(HEADER, "").strip()
    if len(key) > MAX_LENGTH:
        raise ValidationError(
            {
                HEADER: [
                    f"At most {MAX_LENGTH} characters; this key has {len(key)}. Send a shorter key (it is never cut)."
                ]
            }
        )
    return key


def responses(serializer):
    """drf-spectacular responses of a posting route: the first posting (201), and a replay (200) with its header."""
    replay = OpenApiResponse(serializer, description=f"A replay: the first result, with `{REPLAYED_HEADER}: true`.")
    return {status.HTTP_201_CREATED: OpenApiResponse(serializer, description="Posted now."), 200: replay}


def mark_replayed(response, replayed):
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response
