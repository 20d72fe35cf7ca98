"""M-Pesa: the STK push a member starts and the callbacks Safaricom posts."""

import logging

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, status
from rest_framework import serializers as drf
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from chama.api.fields import MoneyField
from chama.api.viewsets import ChamaNestedViewSet
from finance.api import serializers
from finance.models import MpesaReceipt
from finance.mpesa_client import DarajaError
from finance.services import mpesa

logger = logging.getLogger("finance.mpesa")


class MpesaReceiptViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """The M-Pesa receipts Safaricom sent (officers; `?status=suspense` for the unmatched ones waiting
    for a member). Assigning one posts it to the member as a payment and settles their dues."""

    queryset = MpesaReceipt.objects.select_related("membership")
    serializer_class = serializers.MpesaReceiptSerializer
    filterset_fields = ["status", "source"]
    search_fields = ["receipt_number", "phone_number", "account_reference", "payer_name"]
    action_rules = {"list": "view_books", "retrieve": "view_books", "assign": "record_payment"}

    @extend_schema(request=serializers.SuspenseAssignSerializer, responses=serializers.MpesaReceiptSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, *args, **kwargs):
        """Give a receipt waiting in suspense to the member it came from (`{"membership": id}`)."""
        receipt = self.get_object()
        body = serializers.SuspenseAssignSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        receipt = mpesa.suspense_assign(receipt=receipt, membership=body.validated_data["membership"], by=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=receipt.pk)).data)


class StkPushViewSet(ChamaNestedViewSet):
    """Prompt your own registered phone to pay the chama's paybill (M-Pesa STK push). When M-Pesa
    cannot be reached or refuses, the answer is a 502 and nothing is recorded."""

    queryset = MpesaReceipt.objects.all()
    action_rules = {"create": None}
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "mpesa_push"

    @extend_schema(
        request=serializers.StkPushSerializer,
        responses={
            202: inline_serializer("StkPushStarted", {"checkout_request_id": drf.CharField(), "amount": MoneyField()}),
            502: inline_serializer("MpesaUnavailable", {"detail": drf.CharField()}),
        },
    )
    def create(self, request, *args, **kwargs):
        body = serializers.StkPushSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = self.chama.memberships.select_related("user", "chama").get(user=request.user)
        try:
            stk = mpesa.stk_push_start(membership=membership, amount=body.validated_data["amount"], by=request.user)
        except DarajaError:
            logger.exception("STK push for membership %s failed", membership.pk)
            return Response(
                {
                    "detail": "M-Pesa could not take the request just now; nothing was charged. Try again "
                    "in a few minutes."
                },
                status=status.HTTP_502_BAD_GATEWAY,
            )
        return Response(
            {"checkout_request_id": stk.checkout_request_id, "amount": f"{stk.amount:.2f}"},
            status=status.HTTP_202_ACCEPTED,
        )


class MpesaCallbackView(APIView):
    """Safaricom Daraja posts here. A C2B confirmation's URL carries the chama's callback secret as
    its last path segment; an STK callback's carries the secret made for that one push."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "mpesa_callback"
    source = None

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, chama_id, secret):
        if self.source == MpesaReceipt.Source.C2B:
            channel = mpesa.channel_for(chama_id, secret)
            stk = None
        else:
            stk = mpesa.stk_request_for(chama_id, secret)
            channel = stk.chama.mpesa_channel if stk else None
        if channel is None:
            raise Http404
        if request.content_type.split(";")[0].strip() != "application/json" or not isinstance(request.data, dict):
            raise ParseError("Expected the JSON object Safaricom sends.")
        if stk is None:
            mpesa.receive_c2b_callback(channel=channel, payload=request.data)
        else:
            mpesa.receive_stk_callback(stk=stk, payload=request.data)
        # Also for a replay with other details (kept as a conflict, nothing posted): a retry would change nothing.
        return Response({"ResultCode": 0, "ResultDesc": "Accepted"})


class MpesaRetiredCallbackView(APIView):
    """The callback addresses that carried the secret in `?secret=`: refused, saying where it goes now."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    @extend_schema(exclude=True)
    def post(self, request, chama_id):
        return Response(
            {
                "detail": (
                    "This callback address is retired: the secret now goes in the path (.../mpesa/c2b/<secret>/). "
                    "An officer rotates the channel's secret in the back office and registers the URL it shows with Safaricom."
                )
            },
            status=status.HTTP_404_NOT_FOUND,
        )
