"""What the finance routes share: the statement's cursor pagination, the caller's own rows and the posting base."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from chama import authority, tenancy
from chama.api.viewsets import ChamaNestedViewSet
from finance.api import idempotency, serializers
from finance.selectors import ledger as ledger_reads


class StatementPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class OwnRows:
    """The caller's own rows, found by their membership's id (read with their roles), so that the read
    walks a `(…, membership, …)` index whatever the length of the chama's history."""

    @property
    def my_membership_id(self):
        return tenancy.membership_id(self.request.user, self.chama.pk)

    def my_membership(self):
        """The caller's own membership in the route's chama (every caller of a chama route has one)."""
        return self.chama.memberships.select_related("user", "chama__policy").get(pk=self.my_membership_id)

    def own(self, queryset):
        membership_id = self.my_membership_id
        return queryset.filter(membership_id=membership_id) if membership_id else queryset.none()


class MemberScopedMixin(OwnRows):
    """Rows of the caller's own membership in the route's chama."""

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        return self.own(queryset)


class OwnUnlessOfficerMixin(OwnRows):
    """Every row of the chama for an officer who may read its books; a member's own rows otherwise."""

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False) or authority.may(
            self.request.user, "view_books", chama=self.chama
        ):
            return queryset
        return self.own(queryset)


POSTING_SCHEMA = extend_schema(
    parameters=[idempotency.PARAMETER, idempotency.REPLAYED],
    responses=idempotency.responses(serializers.JournalSerializer),
)


def posted(journal):
    """What every route that posts money answers: the journal with its entries, 201 when posted now,
    200 with `Idempotent-Replayed: true` when it was posted before under the same key or reference."""
    replayed = journal.replayed
    journal = ledger_reads.journals_with_entries().get(pk=journal.pk)
    response = Response(
        serializers.JournalSerializer(journal).data, status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED
    )
    return idempotency.mark_replayed(response, replayed)


class PostingViewSet(mixins.CreateModelMixin, ChamaNestedViewSet):
    """Base of the officer routes that post money; answers with the journal: 201 when posted now,
    200 with `Idempotent-Replayed: true` when the reference or `Idempotency-Key` was posted before."""

    action_rules = {"create": "record_payment"}

    def created(self, journal):
        return posted(journal)

    def idempotency_key(self):
        return idempotency.idempotency_key(self.request)
