"""The chama's cashbook: expenses and other income."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from chama.api.viewsets import ChamaNestedViewSet
from finance.api import serializers
from finance.models import Expense, Income
from finance.services import books


class ExpenseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ChamaNestedViewSet):
    """Expenses with category, receipt and approving officer; each one is a journal."""

    queryset = Expense.objects.all()
    serializer_class = serializers.ExpenseSerializer
    filterset_fields = ["category", "paid_through"]
    action_rules = {
        "list": "view_books",
        "retrieve": "view_books",
        "create": "record_expense",
        "approve": "approve_expense",
        "reject": "approve_expense",
    }

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
        return Response(
            self.get_serializer(books.cashbook_reject(record=record, by=request.user, **body.validated_data)).data
        )


class IncomeViewSet(ExpenseViewSet):
    """Other income (bank interest, donations, events); each one is a journal."""

    queryset = Income.objects.all()
    serializer_class = serializers.IncomeSerializer
    filterset_fields = ["category", "received_through"]

    def perform_create(self, serializer):
        serializer.instance = books.income_record(chama=self.chama, by=self.request.user, **serializer.validated_data)
