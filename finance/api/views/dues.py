"""Dues and waivers, and payments that settle dues."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from chama.api.viewsets import ChamaNestedViewSet
from finance.api import serializers
from finance.api.views.common import POSTING_SCHEMA, MemberScopedMixin, PostingViewSet
from finance.models import Due, Journal, Waiver
from finance.services import dues


class MyDueViewSet(MemberScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """What you owe and have paid: contributions, levies and fines."""

    queryset = Due.objects.select_related("membership").order_by("-due_date", "-id")
    serializer_class = serializers.DueSerializer
    filterset_fields = ["status", "kind"]
    action_rules = {"list": None, "retrieve": None}


class DueViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Every member's dues (officers), with waivers."""

    queryset = Due.objects.select_related("membership").order_by("-due_date", "membership__member_number")
    serializer_class = serializers.DueSerializer
    filterset_fields = ["status", "kind", "membership", "period_label"]
    search_fields = ["membership__member_number", "membership__user__first_name", "membership__user__last_name"]
    action_rules = {"list": "view_books", "retrieve": "view_books", "waive": "waive"}

    @extend_schema(request=serializers.WaiveSerializer, responses={201: serializers.WaiverSerializer})
    @action(detail=True, methods=["post"])
    def waive(self, request, *args, **kwargs):
        due = self.get_object()
        body = serializers.WaiveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        waiver = dues.waiver_request(due=due, by=request.user, **body.validated_data)
        return Response(serializers.WaiverSerializer(waiver).data, status=status.HTTP_201_CREATED)


class WaiverViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Waivers; one above the chama's threshold waits for a second officer."""

    queryset = Waiver.objects.select_related("requested_by", "approved_by")
    serializer_class = serializers.WaiverSerializer
    filterset_fields = ["status"]
    action_rules = {
        "list": "view_books",
        "retrieve": "view_books",
        "approve": "approve_waiver",
        "reject": "approve_waiver",
    }

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return Response(self.get_serializer(dues.waiver_approve(waiver=self.get_object(), by=request.user)).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        return Response(self.get_serializer(dues.waiver_reject(waiver=self.get_object(), by=request.user)).data)


class PaymentViewSet(PostingViewSet):
    """Record a member's payment; it settles their oldest dues first and keeps any excess as an
    advance. Send an `Idempotency-Key` header: a retry with the same key returns the first result."""

    queryset = Journal.objects.filter(kind=Journal.Kind.PAYMENT)
    serializer_class = serializers.PaymentSerializer

    @POSTING_SCHEMA
    def create(self, request, *args, **kwargs):
        key = self.idempotency_key()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        journal = dues.payment_record(
            membership=data["membership"],
            amount=data["amount"],
            method=data["method"],
            by=request.user,
            value_date=data.get("value_date"),
            reference=data["reference"],
            idempotency_key=key,
            memo=data["memo"],
            kinds=dues.DUE_KINDS[data["apply_to"]],
        )
        return self.created(journal)
