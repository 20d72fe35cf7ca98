"""Savings and shares: your accounts and statement, your journals, deposits, share purchases, withdrawals."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from chama.api.viewsets import ChamaNestedViewSet
from finance.api import serializers
from finance.api.views.common import (
    POSTING_SCHEMA,
    MemberScopedMixin,
    OwnUnlessOfficerMixin,
    PostingViewSet,
    StatementPagination,
)
from finance.models import Account, Journal, SavingsType, SharePurchase, Withdrawal
from finance.selectors import ledger as ledger_reads
from finance.services import savings


class StatementMixin:
    """An account route's `statement/`."""

    @extend_schema(responses=serializers.StatementLineSerializer(many=True))
    @action(detail=True, pagination_class=StatementPagination, serializer_class=serializers.StatementLineSerializer)
    def statement(self, request, *args, **kwargs):
        """Every line on the account, newest first, with the balance after each (cursor-paginated)."""
        account = self.get_object()
        page = self.paginate_queryset(ledger_reads.statement(account=account).order_by("-id"))
        for entry in page:
            entry.account = account  # read once above: joining it would make the planner walk every entry
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class MyAccountViewSet(
    MemberScopedMixin, StatementMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet
):
    """Your accounts in this chama (savings, shares, fines owed, advances) with their balances."""

    queryset = Account.objects.select_related("savings_type").order_by("code")
    serializer_class = serializers.AccountSerializer
    pagination_class = None
    action_rules = {"list": None, "retrieve": None, "statement": None}


class AccountViewSet(StatementMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Every account of the chama with its balance — each member's savings, shares, fines owed and
    loans, and the chama's own — for officers (`?membership=` for one member's, `?purpose=`,
    `?type=`), with each account's statement."""

    queryset = Account.objects.select_related("savings_type", "membership").order_by("code")
    serializer_class = serializers.MemberAccountSerializer
    filterset_fields = ["membership", "purpose", "type"]
    action_rules = {"list": "view_books", "retrieve": "view_books", "statement": "view_books"}


class SavingsTypeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """The chama's kinds of savings (what a withdrawal's `savings_type` names), with their rules."""

    queryset = SavingsType.objects.order_by("name")
    serializer_class = serializers.SavingsTypeSerializer
    pagination_class = None
    action_rules = {"list": None, "retrieve": None}


class MyJournalViewSet(MemberScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Every money movement recorded for you — payments, shares, deposits, withdrawals, waivers and
    reversals — newest first (cursor-paginated). Each payment shows where it went."""

    queryset = ledger_reads.member_journals()
    serializer_class = serializers.MyJournalSerializer
    pagination_class = StatementPagination
    filterset_fields = ["kind"]
    action_rules = {"list": None, "retrieve": None}


class DepositViewSet(PostingViewSet):
    """Record money paid straight into a member's savings (an `Idempotency-Key` makes a retry safe)."""

    queryset = Journal.objects.filter(kind=Journal.Kind.SAVINGS_DEPOSIT)
    serializer_class = serializers.DepositSerializer

    @POSTING_SCHEMA
    def create(self, request, *args, **kwargs):
        key = self.idempotency_key()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self.created(savings.savings_deposit(by=request.user, idempotency_key=key, **body.validated_data))


class SharePurchaseViewSet(PostingViewSet):
    """Record shares bought at a meeting (VSLA / ASCA), at the chama's share price (an
    `Idempotency-Key` makes a retry safe)."""

    queryset = SharePurchase.objects.all()
    serializer_class = serializers.SharePurchaseSerializer

    @POSTING_SCHEMA
    def create(self, request, *args, **kwargs):
        key = self.idempotency_key()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self.created(savings.share_purchase(by=request.user, idempotency_key=key, **body.validated_data))


class WithdrawalViewSet(
    OwnUnlessOfficerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    ChamaNestedViewSet,
):
    """Savings withdrawals: members ask (notice applies); officers approve, reject and pay."""

    queryset = Withdrawal.objects.select_related("membership").prefetch_related("approvals")
    serializer_class = serializers.WithdrawalSerializer
    filterset_fields = ["status"]
    action_rules = {
        "list": None,
        "retrieve": None,
        "create": None,
        "approve": "approve_withdrawal",
        "reject": "approve_withdrawal",
        "pay": "pay_withdrawal",
    }

    def perform_create(self, serializer):
        data = serializer.validated_data
        membership = data.get("membership") or self.chama.memberships.get(user=self.request.user)
        serializer.instance = savings.withdrawal_request(
            membership=membership,
            amount=data["amount"],
            by=self.request.user,
            savings_type=data.get("savings_type"),
            reason=data.get("reason", ""),
        )

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return Response(
            self.get_serializer(savings.withdrawal_approve(withdrawal=self.get_object(), by=request.user)).data
        )

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        withdrawal = self.get_object()
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        withdrawal = savings.withdrawal_reject(
            withdrawal=withdrawal, by=request.user, reason=body.validated_data["reason"]
        )
        return Response(self.get_serializer(withdrawal).data)

    @extend_schema(request=serializers.PayWithdrawalSerializer)
    @action(detail=True, methods=["post"])
    def pay(self, request, *args, **kwargs):
        withdrawal = self.get_object()
        body = serializers.PayWithdrawalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        withdrawal = savings.withdrawal_pay(withdrawal=withdrawal, by=request.user, **body.validated_data)
        return Response(self.get_serializer(withdrawal).data)
