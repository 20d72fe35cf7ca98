"""The chama's ledger: journals and their reversal, backdating approvals, the trial balance."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, status
from rest_framework import serializers as drf
from rest_framework.decorators import action
from rest_framework.response import Response

from chama.api.fields import MoneyField
from chama.api.viewsets import ChamaNestedViewSet
from finance.api import serializers
from finance.api.views.common import StatementPagination
from finance.models import Account, BackdatingApproval
from finance.selectors import ledger as ledger_reads
from finance.services import backdating, reversals


class BackdatingApprovalViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ChamaNestedViewSet
):
    """Money dated further back than the policy's backdating window: the chairperson asks
    (`{"earliest_date", "reason"}`), another officer approves or rejects through their own login.
    An approval is in force for 7 days."""

    queryset = BackdatingApproval.objects.select_related("requested_by", "decided_by")
    serializer_class = serializers.BackdatingApprovalSerializer
    filterset_fields = ["status"]
    action_rules = {
        "list": "view_books",
        "retrieve": "view_books",
        "create": "request_backdating",
        "approve": "approve_backdating",
        "reject": "approve_backdating",
    }

    def perform_create(self, serializer):
        serializer.instance = backdating.backdating_request(
            chama=self.chama, by=self.request.user, **serializer.validated_data
        )

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        """The second officer approves, through their own login (not the chairperson who asked)."""
        return Response(
            self.get_serializer(backdating.backdating_approve(approval=self.get_object(), by=request.user)).data
        )

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        approval = self.get_object()
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        approval = backdating.backdating_reject(
            approval=approval, by=request.user, reason=body.validated_data["reason"]
        )
        return Response(self.get_serializer(approval).data)


class JournalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """The chama's ledger (officers): every journal with its entries, newest first."""

    queryset = ledger_reads.journals_with_entries()
    serializer_class = serializers.JournalSerializer
    pagination_class = StatementPagination
    filterset_fields = ["kind", "membership", "value_date"]
    action_rules = {"list": "view_books", "retrieve": "view_books", "reverse": "reverse_journal"}

    @extend_schema(request=serializers.ReasonSerializer, responses={201: serializers.JournalSerializer})
    @action(detail=True, methods=["post"])
    def reverse(self, request, *args, **kwargs):
        journal = self.get_object()
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reversal = reversals.journal_reverse(journal=journal, by=request.user, reason=body.validated_data["reason"])
        return Response(
            self.get_serializer(self.get_queryset().get(pk=reversal.pk)).data, status=status.HTTP_201_CREATED
        )


TRIAL_BALANCE = inline_serializer(
    "TrialBalance",
    {
        "rows": inline_serializer(
            "TrialBalanceRow",
            {
                "code": drf.CharField(),
                "name": drf.CharField(),
                "type": drf.CharField(),
                "debit": MoneyField(),
                "credit": MoneyField(),
            },
            many=True,
        ),
        "total_debit": MoneyField(),
        "total_credit": MoneyField(),
    },
)


class TrialBalanceViewSet(ChamaNestedViewSet):
    """Every account's debit or credit balance; the two totals are always equal."""

    queryset = Account.objects.all()
    pagination_class = None
    answers_one_object = True
    action_rules = {"list": "view_books"}

    @extend_schema(responses=TRIAL_BALANCE)
    def list(self, request, *args, **kwargs):
        rows, debit, credit = ledger_reads.trial_balance(chama=self.chama)
        return Response(
            {
                "rows": [
                    {"code": a.code, "name": a.name, "type": a.type, "debit": f"{d:.2f}", "credit": f"{c:.2f}"}
                    for a, d, c in rows
                ],
                "total_debit": f"{debit:.2f}",
                "total_credit": f"{credit:.2f}",
            }
        )
