import logging

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers as drf, status
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from chama import authority
from chama.api.fields import MoneyField
from chama.api.viewsets import ChamaNestedViewSet
from chama.money import ZERO
from finance.selectors import ledger as ledger_reads, loans as loan_reads
from finance.api import idempotency, loan_serializers, serializers
from finance.mpesa_client import DarajaError
from finance.models import (
    Account, BackdatingApproval, Due, Expense, Guarantee, Income, Journal, Loan, LoanProduct, MpesaReceipt, SharePurchase,
    Waiver, Withdrawal,
)
from finance.services import backdating, books, dues, loans, mpesa, reversals, savings

logger = logging.getLogger("finance.mpesa")


class StatementPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class MemberScopedMixin:
    """Rows of the caller's own membership in the route's chama."""

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        return queryset.filter(membership__user=self.request.user)

    def my_membership(self):
        return self.chama.memberships.select_related("user", "chama").get(user=self.request.user)


class MyAccountViewSet(MemberScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Your accounts in this chama (savings, shares, fines owed, advances) with their balances."""

    queryset = Account.objects.select_related("savings_type").order_by("code")
    serializer_class = serializers.AccountSerializer
    pagination_class = None
    action_rules = {"list": None, "retrieve": None, "statement": None}

    @extend_schema(responses=serializers.StatementLineSerializer(many=True))
    @action(detail=True, pagination_class=StatementPagination, serializer_class=serializers.StatementLineSerializer)
    def statement(self, request, *args, **kwargs):
        """Every line on the account, newest first, with the balance after each (cursor-paginated)."""
        account = self.get_object()
        page = self.paginate_queryset(ledger_reads.statement(account).select_related("account").order_by("-id"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class MyJournalViewSet(MemberScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Every money movement recorded for you — payments, shares, deposits, withdrawals, waivers and
    reversals — newest first (cursor-paginated). Each payment shows where it went."""

    queryset = Journal.objects.select_related("membership", "reversed_by").prefetch_related("entries__account")
    serializer_class = serializers.MyJournalSerializer
    pagination_class = StatementPagination
    filterset_fields = ["kind"]
    action_rules = {"list": None, "retrieve": None}


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
    action_rules = {"list": "view_books", "retrieve": "view_books", "approve": "approve_waiver", "reject": "approve_waiver"}

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return Response(self.get_serializer(dues.waiver_approve(waiver=self.get_object(), by=request.user)).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        return Response(self.get_serializer(dues.waiver_reject(waiver=self.get_object(), by=request.user)).data)


class BackdatingApprovalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                                ChamaNestedViewSet):
    """Money dated further back than the policy's backdating window: the chairperson asks
    (`{"earliest_date", "reason"}`), another officer approves or rejects through their own login.
    An approval is in force for 7 days."""

    queryset = BackdatingApproval.objects.select_related("requested_by", "decided_by")
    serializer_class = serializers.BackdatingApprovalSerializer
    filterset_fields = ["status"]
    action_rules = {"list": "view_books", "retrieve": "view_books", "create": "request_backdating",
                    "approve": "approve_backdating", "reject": "approve_backdating"}

    def perform_create(self, serializer):
        serializer.instance = backdating.backdating_request(chama=self.chama, by=self.request.user, **serializer.validated_data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        """The second officer approves, through their own login (not the chairperson who asked)."""
        return Response(self.get_serializer(backdating.backdating_approve(approval=self.get_object(), by=request.user)).data)

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        approval = self.get_object()
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        approval = backdating.backdating_reject(approval=approval, by=request.user, reason=body.validated_data["reason"])
        return Response(self.get_serializer(approval).data)


class JournalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """The chama's ledger (officers): every journal with its entries, newest first."""

    queryset = Journal.objects.select_related("membership", "created_by", "reversed_by").prefetch_related("entries__account")
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
        return Response(self.get_serializer(self.get_queryset().get(pk=reversal.pk)).data, status=status.HTTP_201_CREATED)


POSTING_SCHEMA = extend_schema(parameters=[idempotency.PARAMETER, idempotency.REPLAYED],
                               responses=idempotency.responses(serializers.JournalSerializer))


class PostingViewSet(mixins.CreateModelMixin, ChamaNestedViewSet):
    """Base of the officer routes that post money; answers with the journal: 201 when posted now,
    200 with `Idempotent-Replayed: true` when the reference or `Idempotency-Key` was posted before."""

    action_rules = {"create": "record_payment"}

    def created(self, journal):
        replayed = journal.replayed
        journal = Journal.objects.select_related("membership", "created_by").prefetch_related("entries__account").get(pk=journal.pk)
        response = Response(serializers.JournalSerializer(journal).data,
                            status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED)
        return idempotency.mark_replayed(response, replayed)

    def idempotency_key(self):
        return idempotency.idempotency_key(self.request)


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
            membership=data["membership"], amount=data["amount"], method=data["method"], by=request.user,
            value_date=data.get("value_date"), reference=data["reference"], idempotency_key=key, memo=data["memo"],
            kinds=dues.DUE_KINDS[data["apply_to"]],
        )
        return self.created(journal)


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


class ExpenseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ChamaNestedViewSet):
    """Expenses with category, receipt and approving officer; each one is a journal."""

    queryset = Expense.objects.all()
    serializer_class = serializers.ExpenseSerializer
    filterset_fields = ["category", "paid_through"]
    action_rules = {"list": "view_books", "retrieve": "view_books", "create": "record_expense",
                    "approve": "approve_expense", "reject": "approve_expense"}

    def perform_create(self, serializer):
        serializer.instance = books.expense_record(chama=self.chama, by=self.request.user, **serializer.validated_data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        """The second officer approves, through their own login: the record is posted."""
        return Response(self.get_serializer(books.cashbook_approve(record=self.get_object(), by=request.user)).data)

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        record = self.get_object()
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(self.get_serializer(books.cashbook_reject(record=record, by=request.user, **body.validated_data)).data)


class IncomeViewSet(ExpenseViewSet):
    """Other income (bank interest, donations, events); each one is a journal."""

    queryset = Income.objects.all()
    serializer_class = serializers.IncomeSerializer
    filterset_fields = ["category", "received_through"]

    def perform_create(self, serializer):
        serializer.instance = books.income_record(chama=self.chama, by=self.request.user, **serializer.validated_data)


class WithdrawalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ChamaNestedViewSet):
    """Savings withdrawals: members ask (notice applies); officers approve, reject and pay."""

    queryset = Withdrawal.objects.select_related("membership").prefetch_related("approvals")
    serializer_class = serializers.WithdrawalSerializer
    filterset_fields = ["status"]
    action_rules = {"list": None, "retrieve": None, "create": None, "approve": "approve_withdrawal",
                    "reject": "approve_withdrawal", "pay": "pay_withdrawal"}

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False) or authority.may(self.request.user, "view_books", chama=self.chama):
            return queryset
        return queryset.filter(membership__user=self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        membership = data.get("membership") or self.chama.memberships.get(user=self.request.user)
        serializer.instance = savings.withdrawal_request(
            membership=membership, amount=data["amount"], by=self.request.user,
            savings_type=data.get("savings_type"), reason=data.get("reason", ""),
        )

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return Response(self.get_serializer(savings.withdrawal_approve(withdrawal=self.get_object(), by=request.user)).data)

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        withdrawal = self.get_object()
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        withdrawal = savings.withdrawal_reject(withdrawal=withdrawal, by=request.user, reason=body.validated_data["reason"])
        return Response(self.get_serializer(withdrawal).data)

    @extend_schema(request=serializers.PayWithdrawalSerializer)
    @action(detail=True, methods=["post"])
    def pay(self, request, *args, **kwargs):
        withdrawal = self.get_object()
        body = serializers.PayWithdrawalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        withdrawal = savings.withdrawal_pay(withdrawal=withdrawal, by=request.user, **body.validated_data)
        return Response(self.get_serializer(withdrawal).data)


TRIAL_BALANCE = inline_serializer("TrialBalance", {
    "rows": inline_serializer("TrialBalanceRow", {
        "code": drf.CharField(), "name": drf.CharField(), "type": drf.CharField(),
        "debit": MoneyField(), "credit": MoneyField(),
    }, many=True),
    "total_debit": MoneyField(), "total_credit": MoneyField(),
})


class TrialBalanceViewSet(ChamaNestedViewSet):
    """Every account's debit or credit balance; the two totals are always equal."""

    queryset = Account.objects.all()
    pagination_class = None
    answers_one_object = True
    action_rules = {"list": "view_books"}

    @extend_schema(responses=TRIAL_BALANCE)
    def list(self, request, *args, **kwargs):
        rows, debit, credit = ledger_reads.trial_balance(self.chama)
        return Response({
            "rows": [{"code": a.code, "name": a.name, "type": a.type, "debit": f"{d:.2f}", "credit": f"{c:.2f}"} for a, d, c in rows],
            "total_debit": f"{debit:.2f}", "total_credit": f"{credit:.2f}",
        })


class StkPushViewSet(ChamaNestedViewSet):
    """Prompt your own registered phone to pay the chama's paybill (M-Pesa STK push). When M-Pesa
    cannot be reached or refuses, the answer is a 502 and nothing is recorded."""

    queryset = MpesaReceipt.objects.all()
    action_rules = {"create": None}

    @extend_schema(request=serializers.StkPushSerializer, responses={
        202: inline_serializer("StkPushStarted", {"checkout_request_id": drf.CharField(), "amount": MoneyField()}),
        502: inline_serializer("MpesaUnavailable", {"detail": drf.CharField()})})
    def create(self, request, *args, **kwargs):
        body = serializers.StkPushSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = self.chama.memberships.select_related("user", "chama").get(user=request.user)
        try:
            stk = mpesa.stk_push_start(membership=membership, amount=body.validated_data["amount"], by=request.user)
        except DarajaError:
            logger.exception("STK push for membership %s failed", membership.pk)
            return Response({"detail": "M-Pesa could not take the request just now; nothing was charged. Try again "
                                       "in a few minutes."}, status=status.HTTP_502_BAD_GATEWAY)
        return Response({"checkout_request_id": stk.checkout_request_id, "amount": f"{stk.amount:.2f}"},
                        status=status.HTTP_202_ACCEPTED)


class MpesaCallbackView(APIView):
    """Safaricom Daraja posts here. A C2B confirmation's URL carries the chama's callback secret as
    its last path segment; an STK callback's carries the secret made for that one push."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
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
        return Response({"detail": (
            "This callback address is retired: the secret now goes in the path (.../mpesa/c2b/<secret>/). "
            "An officer rotates the channel's secret in the back office and registers the URL it shows with Safaricom."
        )}, status=status.HTTP_404_NOT_FOUND)


# --- loans -------------------------------------------------------------------------------------


class LoanProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """The chama's loan products; `quote` shows the schedule before applying."""

    queryset = LoanProduct.objects.filter(is_active=True)
    serializer_class = loan_serializers.LoanProductSerializer
    action_rules = {"list": None, "retrieve": None, "quote": None, "eligibility": None}

    @extend_schema(request=loan_serializers.QuoteSerializer, responses=loan_serializers.ScheduleRowSerializer(many=True))
    @action(detail=True, methods=["post"])
    def quote(self, request, *args, **kwargs):
        product = self.get_object()
        body = loan_serializers.QuoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rows = loans.quote(product, body.validated_data["principal"], body.validated_data["installments"],
                           body.validated_data.get("start"))
        return Response(loan_serializers.ScheduleRowSerializer(rows, many=True).data)

    @extend_schema(responses=loan_serializers.EligibilitySerializer)
    @action(detail=True)
    def eligibility(self, request, *args, **kwargs):
        """Your eligibility for this product: each rule with its reason, and the most you may borrow now."""
        product = self.get_object()
        check = loans.eligibility(self.chama.memberships.select_related("chama__policy").get(user=request.user), product)
        return Response(loan_serializers.EligibilitySerializer(
            {"eligible": check.eligible, "max_amount": check.max_amount, "rules": check.rules}).data)


class LoanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ChamaNestedViewSet):
    """Loans: members apply and see their own; officers see all and decide, disburse, take repayments."""

    queryset = (Loan.objects.select_related("membership__user", "product", "receivable_account", "reschedule_requested_by",
                                            "write_off_requested_by")
                .prefetch_related("installments", "guarantees__guarantor__user", "guarantees__loan__membership__user",
                                  "approvals__officer", "collateral"))
    serializer_class = loan_serializers.LoanSerializer
    filterset_fields = ["status", "classification", "membership"]
    action_rules = {
        "list": None, "retrieve": None, "create": None, "statement": None,
        "approve": "approve_loan", "reject": "approve_loan", "disburse": "disburse_loan", "repay": "record_payment",
        "write_off": "write_off_loan", "approve_write_off": "approve_write_off", "reject_write_off": "approve_write_off",
        "reschedule": "reschedule_loan", "approve_reschedule": "approve_reschedule",
        "reject_reschedule": "approve_reschedule", "recover_from_guarantors": "recover_loan", "record_recovery": "recover_loan",
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False) or authority.may(self.request.user, "view_books", chama=self.chama):
            return queryset
        return queryset.filter(membership__user=self.request.user)

    def _detail(self, loan, status_code=status.HTTP_200_OK):
        loan = self.get_queryset().get(pk=loan.pk)
        loan.outstanding_principal = loan_reads.outstanding_principal(loan)
        loan.payoff_today = loan_reads.payoff_amount(loan) if loan.status in Loan.OUTSTANDING_STATUSES else ZERO
        return Response(loan_serializers.LoanSerializer(loan, context={"detail": True, "request": self.request}).data, status=status_code)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        for loan in page:
            account = getattr(loan, "receivable_account", None)
            loan.outstanding_principal = account.normal_balance if account else ZERO
            loan.payoff_today = None
        return self.get_paginated_response(loan_serializers.LoanSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(request=loan_serializers.ApplySerializer, responses={201: loan_serializers.LoanSerializer})
    def create(self, request, *args, **kwargs):
        body = loan_serializers.ApplySerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        membership = data.get("membership") or self.chama.memberships.select_related("chama__policy", "user").get(user=request.user)
        loan = loans.loan_apply(
            membership=membership, product=data["product"], principal=data["principal"], installments=data["installments"],
            by=request.user, purpose=data["purpose"], guarantors=[(g["membership"], g["amount"]) for g in data["guarantors"]],
        )
        return self._detail(loan, status.HTTP_201_CREATED)

    @extend_schema(responses=serializers.MyJournalSerializer(many=True))
    @action(detail=True, pagination_class=None)
    def statement(self, request, *args, **kwargs):
        """Every journal of the loan: disbursement, repayments, recoveries, write-off, reversals."""
        loan = self.get_object()
        journals = loan.journals.prefetch_related("entries__account").select_related("reversed_by").order_by("id")
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

    @extend_schema(request=loan_serializers.RepaySerializer, parameters=[idempotency.PARAMETER, idempotency.REPLAYED],
                   responses=idempotency.responses(loan_serializers.LoanSerializer, first=status.HTTP_200_OK))
    @action(detail=True, methods=["post"])
    def repay(self, request, *args, **kwargs):
        """Take a repayment; answers with the loan (200), with `Idempotent-Replayed: true` on a replay."""
        loan = self.get_object()
        key = idempotency.idempotency_key(request)
        body = loan_serializers.RepaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        journal = loans.loan_repay(loan=loan, by=request.user, idempotency_key=key, **body.validated_data)
        return idempotency.mark_replayed(self._detail(loan), journal.replayed)

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


PORTFOLIO = inline_serializer("LoanPortfolio", {
    "loans": drf.IntegerField(), "outstanding_principal": MoneyField(),
    "buckets": drf.DictField(child=MoneyField()),
    "par30": MoneyField(), "par30_percent": MoneyField(), "par60": MoneyField(), "par60_percent": MoneyField(),
    "par90": MoneyField(), "par90_percent": MoneyField(),
})


class LoanPortfolioViewSet(ChamaNestedViewSet):
    """Outstanding principal by days in arrears, and PAR30 / PAR60 / PAR90 (officers)."""

    queryset = Loan.objects.all()
    pagination_class = None
    answers_one_object = True
    action_rules = {"list": "view_books"}

    @extend_schema(responses=PORTFOLIO)
    def list(self, request, *args, **kwargs):
        summary = loan_reads.portfolio(self.chama)
        body = {"loans": summary["loans"], "outstanding_principal": f"{summary['outstanding_principal']:.2f}",
                "buckets": {bucket: f"{amount:.2f}" for bucket, amount in summary["buckets"].items()}}
        for name in ("par30", "par60", "par90"):
            amount, percent = summary[name]
            body[name], body[f"{name}_percent"] = f"{amount:.2f}", f"{percent:.2f}"
        return Response(body)
