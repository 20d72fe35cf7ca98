"""Loans: products and quotes, applications through closure, guarantees and the portfolio."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, status
from rest_framework import serializers as drf
from rest_framework.decorators import action
from rest_framework.response import Response

from chama.api.fields import MoneyField
from chama.api.viewsets import ChamaNestedViewSet
from chama.money import ZERO
from finance.api import idempotency, loan_serializers, serializers
from finance.api.views.common import OwnUnlessOfficerMixin, posted
from finance.models import Guarantee, Loan, LoanProduct
from finance.selectors import ledger as ledger_reads
from finance.selectors import loans as loan_reads
from finance.services import loans


class LoanProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """The chama's loan products; `quote` shows the schedule before applying."""

    queryset = LoanProduct.objects.filter(is_active=True)
    serializer_class = loan_serializers.LoanProductSerializer
    action_rules = {"list": None, "retrieve": None, "quote": None, "eligibility": None}

    @extend_schema(
        request=loan_serializers.QuoteSerializer, responses=loan_serializers.ScheduleRowSerializer(many=True)
    )
    @action(detail=True, methods=["post"])
    def quote(self, request, *args, **kwargs):
        product = self.get_object()
        body = loan_serializers.QuoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rows = loans.quote(
            product,
            body.validated_data["principal"],
            body.validated_data["installments"],
            body.validated_data.get("start"),
        )
        return Response(loan_serializers.ScheduleRowSerializer(rows, many=True).data)

    @extend_schema(responses=loan_serializers.EligibilitySerializer)
    @action(detail=True)
    def eligibility(self, request, *args, **kwargs):
        """Your eligibility for this product: each rule with its reason, and the most you may borrow now."""
        product = self.get_object()
        check = loans.eligibility(
            self.chama.memberships.select_related("chama__policy").get(user=request.user), product
        )
        return Response(
            loan_serializers.EligibilitySerializer(
                {"eligible": check.eligible, "max_amount": check.max_amount, "rules": check.rules}
            ).data
        )


class LoanViewSet(
    OwnUnlessOfficerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    ChamaNestedViewSet,
):
    """Loans: members apply and see their own; officers see all and decide, disburse, take repayments."""

    queryset = Loan.objects.select_related(
        "membership__user", "product", "reschedule_requested_by", "write_off_requested_by"
    ).prefetch_related(
        "receivable_accounts",
        "installments",
        "guarantees__guarantor__user",
        "guarantees__loan__membership__user",
        "approvals__officer",
        "collateral",
    )
    serializer_class = loan_serializers.LoanSerializer
    filterset_fields = ["status", "classification", "membership"]
    action_rules = {
        "list": None,
        "retrieve": None,
        "create": None,
        "statement": None,
        "approve": "approve_loan",
        "reject": "approve_loan",
        "disburse": "disburse_loan",
        "repay": "record_payment",
        "write_off": "write_off_loan",
        "approve_write_off": "approve_write_off",
        "reject_write_off": "approve_write_off",
        "reschedule": "reschedule_loan",
        "approve_reschedule": "approve_reschedule",
        "reject_reschedule": "approve_reschedule",
        "recover_from_guarantors": "recover_loan",
        "record_recovery": "recover_loan",
    }

    def _detail(self, loan, status_code=status.HTTP_200_OK):
        loan = self.get_queryset().get(pk=loan.pk)
        loan.outstanding_principal = loan_reads.outstanding_principal(loan=loan)
        loan.payoff_today = loan_reads.payoff_amount(loan=loan) if loan.status in Loan.OUTSTANDING_STATUSES else ZERO
        return Response(
            loan_serializers.LoanSerializer(loan, context={"detail": True, "request": self.request}).data,
            status=status_code,
        )

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        for loan in page:
            account = loan.receivable_account
            loan.outstanding_principal = account.normal_balance if account else ZERO
            loan.payoff_today = None
        return self.get_paginated_response(
            loan_serializers.LoanSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(request=loan_serializers.ApplySerializer, responses={201: loan_serializers.LoanSerializer})
    def create(self, request, *args, **kwargs):
        body = loan_serializers.ApplySerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        membership = data.get("membership") or self.chama.memberships.select_related("chama__policy", "user").get(
            user=request.user
        )
        loan = loans.loan_apply(
            membership=membership,
            product=data["product"],
            principal=data["principal"],
            installments=data["installments"],
            by=request.user,
            purpose=data["purpose"],
            guarantors=[(g["membership"], g["amount"]) for g in data["guarantors"]],
        )
        return self._detail(loan, status.HTTP_201_CREATED)

    @extend_schema(responses=serializers.MyJournalSerializer(many=True))
    @action(detail=True, pagination_class=None)
    def statement(self, request, *args, **kwargs):
        """Every journal of the loan: disbursement, repayments, recoveries, write-off, reversals."""
        loan = self.get_object()
        journals = ledger_reads.journals_with_entries(journals=loan.journals.order_by("id"))
        return Response(serializers.MyJournalSerializer(journals, many=True).data)

    def _act(self, request, service, body_class=None, **extra):
        loan = self.get_object()
        data = {}
        if body_class is not None:
            body = body_class(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
        service(loan=loan, by=request.user, **data, **extra)
        return self._detail(loan)

    @extend_schema(request=loan_serializers.CommentSerializer, responses=loan_serializers.LoanSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return self._act(request, loans.loan_approve, loan_serializers.CommentSerializer)

    @extend_schema(request=loan_serializers.CommentSerializer, responses=loan_serializers.LoanSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        return self._act(request, loans.loan_reject, loan_serializers.CommentSerializer)

    @extend_schema(request=loan_serializers.DisburseSerializer, responses=loan_serializers.LoanSerializer)
    @action(detail=True, methods=["post"])
    def disburse(self, request, *args, **kwargs):
        return self._act(request, loans.loan_disburse, loan_serializers.DisburseSerializer)

    @extend_schema(
        request=loan_serializers.RepaySerializer,
        parameters=[idempotency.PARAMETER, idempotency.REPLAYED],
        responses=idempotency.responses(serializers.JournalSerializer),
    )
    @action(detail=True, methods=["post"])
    def repay(self, request, *args, **kwargs):
        """Take a repayment; answers like every posting route, with the journal and its entries (201),
        or the first one with `Idempotent-Replayed: true` on a replay (200). The loan's new state is
        `GET loans/{id}/`."""
        loan = self.get_object()
        key = idempotency.idempotency_key(request)
        body = loan_serializers.RepaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        journal = loans.loan_repay(loan=loan, by=request.user, idempotency_key=key, **body.validated_data)
        return posted(journal)

    @extend_schema(request=serializers.ReasonSerializer, responses=loan_serializers.LoanSerializer)
    @action(detail=True, methods=["post"], url_path="write-off")
    def write_off(self, request, *args, **kwargs):
        return self._act(request, loans.write_off_request, serializers.ReasonSerializer)

    @extend_schema(request=None, responses=loan_serializers.LoanSerializer)
    @action(detail=True, methods=["post"], url_path="approve-write-off")
    def approve_write_off(self, request, *args, **kwargs):
        return self._act(request, loans.write_off_approve)

    @extend_schema(request=None, responses=loan_serializers.LoanSerializer)
    @action(detail=True, methods=["post"], url_path="reject-write-off")
    def reject_write_off(self, request, *args, **kwargs):
        return self._act(request, loans.write_off_reject)

    @extend_schema(request=loan_serializers.RescheduleSerializer, responses=loan_serializers.LoanSerializer)
    @action(detail=True, methods=["post"])
    def reschedule(self, request, *args, **kwargs):
        """Ask for a new schedule; a second officer approves it with `approve-reschedule`."""
        return self._act(request, loans.loan_reschedule, loan_serializers.RescheduleSerializer)

    @extend_schema(request=None, responses=loan_serializers.LoanSerializer)
    @action(detail=True, methods=["post"], url_path="approve-reschedule")
    def approve_reschedule(self, request, *args, **kwargs):
        return self._act(request, loans.reschedule_approve)

    @extend_schema(request=None, responses=loan_serializers.LoanSerializer)
    @action(detail=True, methods=["post"], url_path="reject-reschedule")
    def reject_reschedule(self, request, *args, **kwargs):
        return self._act(request, loans.reschedule_reject)

    @extend_schema(request=None, responses=loan_serializers.LoanSerializer)
    @action(detail=True, methods=["post"], url_path="recover-from-guarantors")
    def recover_from_guarantors(self, request, *args, **kwargs):
        return self._act(request, loans.recover_from_guarantors)

    @extend_schema(request=loan_serializers.RepaySerializer, responses=loan_serializers.LoanSerializer)
    @action(detail=True, methods=["post"], url_path="record-recovery")
    def record_recovery(self, request, *args, **kwargs):
        """Money received on a written-off loan."""
        return self._act(request, loans.recovery_record, loan_serializers.RepaySerializer)


class GuaranteeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Requests to guarantee other members' loans: yours to accept (pledging savings) or decline."""

    queryset = Guarantee.objects.select_related("guarantor__user", "loan__membership__user")
    serializer_class = loan_serializers.GuaranteeSerializer
    filterset_fields = ["status"]
    action_rules = {"list": None, "retrieve": None, "accept": None, "decline": None}

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        return queryset.filter(guarantor__user=self.request.user)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def accept(self, request, *args, **kwargs):
        return Response(self.get_serializer(loans.guarantee_accept(guarantee=self.get_object(), by=request.user)).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def decline(self, request, *args, **kwargs):
        return Response(self.get_serializer(loans.guarantee_decline(guarantee=self.get_object(), by=request.user)).data)


PORTFOLIO = inline_serializer(
    "LoanPortfolio",
    {
        "loans": drf.IntegerField(),
        "outstanding_principal": MoneyField(),
        "buckets": drf.DictField(child=MoneyField()),
        "par30": MoneyField(),
        "par30_percent": MoneyField(),
        "par60": MoneyField(),
        "par60_percent": MoneyField(),
        "par90": MoneyField(),
        "par90_percent": MoneyField(),
    },
)


class LoanPortfolioViewSet(ChamaNestedViewSet):
    """Outstanding principal by days in arrears, and PAR30 / PAR60 / PAR90 (officers)."""

    queryset = Loan.objects.all()
    pagination_class = None
    answers_one_object = True
    action_rules = {"list": "view_books"}

    @extend_schema(responses=PORTFOLIO)
    def list(self, request, *args, **kwargs):
        summary = loan_reads.portfolio(chama=self.chama)
        body = {
            "loans": summary["loans"],
            "outstanding_principal": f"{summary['outstanding_principal']:.2f}",
            "buckets": {bucket: f"{amount:.2f}" for bucket, amount in summary["buckets"].items()},
        }
        for name in ("par30", "par60", "par90"):
            amount, percent = summary[name]
            body[name], body[f"{name}_percent"] = f"{amount:.2f}", f"{percent:.2f}"
        return Response(body)
