from django import forms
from django.contrib import admin, messages

from chama.admin_scoping import (
    ChamaScopedAdmin,
    ChamaScopedTabularInline,
    CreatedByServiceMixin,
)
from chama.money import MoneyFormField, shown
from finance.admin.ledger import ReadOnlyMixin
from finance.admin.signatures import AwaitingSignatureAdmin
from finance.models import Expense, Income, Investment, InvestmentMovement, PaidThrough
from finance.models.books import CashbookRecord
from finance.services import books, value_dates


class ServiceCreatedAdmin(CreatedByServiceMixin, ChamaScopedAdmin):
    """Rows created by a service from the add form, then read-only (a mistake is reversed in the ledger)."""

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields] if obj else []


def check_value_date(form, chama):
    """The one rule for value dates, shown on the form's field (blank: today, always allowed)."""
    day = form.cleaned_data.get("value_date")
    if chama is not None and day is not None:
        problem = value_dates.problem(chama, day)
        if problem:
            form.add_error("value_date", problem)


class ExpenseForm(forms.ModelForm):
    class Meta:
        model = Expense
        fields = ["chama", "category", "amount", "description", "paid_through", "payee", "value_date", "receipt"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "value_date" in self.fields:  # absent on the read-only view of a saved row
            self.fields["value_date"].required = False

    def clean(self):
        data = super().clean()
        check_value_date(self, data.get("chama"))
        return data

    def validate_unique(self):
        pass  # the service creates the row


class CashbookAdmin(AwaitingSignatureAdmin, ServiceCreatedAdmin):
    """Above the chama's threshold a record waits ("Waiting for a second officer") until another
    officer approves it here, with the action, through their own login."""

    edit_action = "record_expense"
    signature_action = "approve_expense"
    actions = ["approve", "reject"]
    authority_actions = {"approve": "approve_expense", "reject": "approve_expense"}

    def has_change_permission(self, request, obj=None):
        # The change permission is what approving needs (any officer: the authority decides per
        # record); a saved record stays read-only.
        return obj is None and admin.ModelAdmin.has_change_permission(self, request)

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "awaiting_signature"] if obj else []

    def response_add(self, request, obj, post_url_continue=None):
        if obj.status == obj.Status.PENDING:
            self.message_user(
                request,
                f"{shown(obj.amount)} is above the chama's threshold: it waits for a second officer, "
                "who approves it from this list.",
                messages.WARNING,
            )
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Approve the selected records (as the second officer)", permissions=["change"])
    def approve(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=CashbookRecord.Status.PENDING),
            lambda row: books.cashbook_approve(record=row, by=request.user),
            "{count} record(s) approved and posted.",
        )

    @admin.action(description="Reject the selected records", permissions=["change"])
    def reject(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=CashbookRecord.Status.PENDING),
            lambda row: books.cashbook_reject(record=row, by=request.user, reason="Rejected in the back office"),
            "{count} record(s) rejected.",
        )


@admin.register(Expense)
class ExpenseAdmin(CashbookAdmin):
    form = ExpenseForm
    list_display = [
        "value_date",
        "chama",
        "category",
        "description",
        "amount",
        "paid_through",
        "payee",
        "status",
        "recorded_by",
        "approved_by",
    ]
    list_filter = ["chama", "status", "category", "paid_through"]
    search_fields = ["description"]
    date_hierarchy = "value_date"
    list_select_related = ["chama", "recorded_by", "approved_by", "payee__user"]

    def create_with_service(self, request, form):
        return books.expense_record(by=request.user, **form.cleaned_data)


class IncomeForm(ExpenseForm):
    class Meta(ExpenseForm.Meta):
        model = Income
        fields = ["chama", "category", "amount", "description", "received_through", "value_date", "receipt"]


@admin.register(Income)
class IncomeAdmin(CashbookAdmin):
    form = IncomeForm
    list_display = [
        "value_date",
        "chama",
        "category",
        "description",
        "amount",
        "received_through",
        "status",
        "recorded_by",
        "approved_by",
    ]
    list_filter = ["chama", "status", "category"]
    search_fields = ["description"]
    date_hierarchy = "value_date"

    def create_with_service(self, request, form):
        return books.income_record(by=request.user, **form.cleaned_data)


class MovementInline(ReadOnlyMixin, ChamaScopedTabularInline):
    model = InvestmentMovement
    fields = ["value_date", "kind", "amount", "valuation", "note", "recorded_by", "journal"]
    readonly_fields = fields


@admin.register(Investment)
class InvestmentAdmin(ChamaScopedAdmin):
    edit_action = "record_expense"
    list_display = ["name", "chama", "type", "acquired_date", "status", "book_value_shown"]
    list_filter = ["chama", "type", "status"]
    search_fields = ["name", "description"]
    inlines = [MovementInline]

    @admin.display(description="Book value")
    def book_value_shown(self, obj):
        return f"{shown(books.book_value(obj))}"


class MovementForm(forms.ModelForm):
    amount = MoneyFormField(required=False, help_text="Money invested or return received.")
    valuation = MoneyFormField(required=False, help_text="Revaluations: the new value.")
    through = forms.ChoiceField(
        choices=PaidThrough.choices, initial="bank", help_text="Where the money came from or went."
    )

    class Meta:
        model = InvestmentMovement
        fields = ["investment", "kind", "amount", "valuation", "through", "value_date", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "value_date" in self.fields:
            self.fields["value_date"].required = False

    def clean(self):
        data = super().clean()
        needed = "valuation" if data.get("kind") == InvestmentMovement.Kind.VALUATION else "amount"
        if data.get(needed) is None:
            self.add_error(needed, "Required for this kind of movement.")
        check_value_date(self, data["investment"].chama if data.get("investment") else None)
        return data

    def validate_unique(self):
        pass


@admin.register(InvestmentMovement)
class InvestmentMovementAdmin(ServiceCreatedAdmin):
    edit_action = "record_expense"
    form = MovementForm
    list_display = ["value_date", "investment", "kind", "amount", "valuation", "recorded_by"]
    list_filter = ["chama", "kind"]
    search_fields = ["investment__name", "note"]

    def create_with_service(self, request, form):
        data = form.cleaned_data
        common = {
            "investment": data["investment"],
            "by": request.user,
            "value_date": data["value_date"],
            "note": data["note"],
        }
        if data["kind"] == InvestmentMovement.Kind.VALUATION:
            return books.investment_revalue(value=data["valuation"], **common)
        if data["kind"] == InvestmentMovement.Kind.RETURN:
            return books.investment_return(amount=data["amount"], received_through=data["through"], **common)
        return books.investment_add_funds(amount=data["amount"], paid_through=data["through"], **common)
