from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from chama import authority
from chama.admin_scoping import ChamaScopedAdmin, ChamaScopedTabularInline, add_refusal
from chama.forms import DateFormField
from chama.money import CENT, MoneyFormField, shown
from finance.admin.ledger import ReadOnlyMixin
from finance.models import Collateral, Guarantee, Installment, Loan, LoanApproval, LoanProduct, PaidThrough
from finance.selectors import loans as loan_reads
from finance.services import loans
from groups import selectors as register


@admin.register(LoanProduct)
class LoanProductAdmin(ChamaScopedAdmin):
    edit_action = "manage_loan_products"
    list_display = [
        "name",
        "chama",
        "interest_method",
        "interest_rate",
        "rate_period",
        "repayment_frequency",
        "max_amount",
        "max_installments",
        "is_active",
    ]
    list_filter = ["chama", "interest_method", "is_active"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["chama", "name", "description", "is_active"]}),
        (
            "Interest and schedule",
            {
                "fields": [
                    "interest_method",
                    "interest_rate",
                    "rate_period",
                    "repayment_frequency",
                    "min_installments",
                    "max_installments",
                    "rounding",
                    "installment_multiple",
                ]
            },
        ),
        ("Amounts", {"fields": ["min_amount", "max_amount", "savings_multiple"]}),
        (
            "Fees and penalties",
            {"fields": ["fee_kind", "fee_value", "fee_mode", "penalty_kind", "penalty_value", "penalty_grace_days"]},
        ),
        ("Guarantees and repayment", {"fields": ["guarantors_required", "guarantee_coverage", "allocation_order"]}),
    ]


class InstallmentInline(ReadOnlyMixin, ChamaScopedTabularInline):
    model = Installment
    fields = ["version", "n", "due_date", "principal", "interest", "fee", "penalty", "paid", "status"]
    readonly_fields = fields
    verbose_name_plural = "Schedule (earlier versions were replaced by rescheduling)"

    @admin.display(description="Paid")
    def paid(self, obj):
        return f"{shown(obj.principal_paid + obj.interest_paid + obj.fee_paid + obj.penalty_paid)}"


class GuaranteeInline(ReadOnlyMixin, ChamaScopedTabularInline):
    model = Guarantee
    fields = ["guarantor", "amount", "status", "recovered_amount", "decided_date"]
    readonly_fields = fields


class ApprovalInline(ReadOnlyMixin, ChamaScopedTabularInline):
    model = LoanApproval
    fields = ["officer", "decision", "comment", "created_date"]
    readonly_fields = fields


class CollateralInline(ChamaScopedTabularInline):
    edit_action = "disburse_loan"
    model = Collateral
    fields = ["description", "value", "document"]

    def has_delete_permission(self, request, obj=None):
        return False


class InArrearsFilter(admin.SimpleListFilter):
    title = "arrears"
    parameter_name = "arrears"

    def lookups(self, request, model_admin):
        return [("yes", "In arrears"), ("30", "More than 30 days"), ("90", "More than 90 days")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(days_in_arrears__gt=0)
        if self.value() in ("30", "90"):
            return queryset.filter(days_in_arrears__gt=int(self.value()))
        return queryset


class RepaymentForm(forms.Form):
    amount = MoneyFormField(min_value=CENT)
    method = forms.ChoiceField(choices=PaidThrough.choices)
    reference = forms.CharField(max_length=64, required=False)
    value_date = DateFormField(required=False, help_text="When the money was received (default today).")


@admin.register(Loan)
class LoanAdmin(ChamaScopedAdmin):
    """Applications to review (eligibility, guarantors, approvals), the schedule, and the arrears list
    (filter "In arrears"); the portfolio summary is linked above the list."""

    list_display = [
        "id",
        "borrower",
        "chama",
        "product",
        "principal",
        "status",
        "classification",
        "days_in_arrears",
        "outstanding",
    ]
    list_filter = ["chama", "status", "classification", InArrearsFilter, "product"]
    search_fields = ["=id", "membership__member_number", "membership__user__first_name", "membership__user__last_name"]
    list_select_related = ["membership__user", "chama", "product"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("receivable_accounts")  # the outstanding column

    readonly_fields = [
        "chama",
        "membership",
        "product",
        "principal",
        "purpose",
        "interest_method",
        "interest_rate",
        "rate_period",
        "repayment_frequency",
        "installments_count",
        "rounding",
        "installment_multiple",
        "fee",
        "fee_mode",
        "status",
        "applied_by",
        "disbursed_date",
        "classification",
        "days_in_arrears",
        "review",
        "outstanding",
        "payoff_today",
        "write_off_requested_by",
        "write_off_reason",
        "reschedule_requested_by",
        "reschedule_installments",
        "reschedule_interest_rate",
        "reschedule_start",
        "reschedule_reason",
    ]
    fieldsets = [
        ("Review", {"fields": ["review"]}),
        (
            "Loan",
            {
                "fields": [
                    "chama",
                    "membership",
                    "product",
                    "principal",
                    "purpose",
                    "status",
                    "applied_by",
                    "disbursed_date",
                    "outstanding",
                    "payoff_today",
                    "classification",
                    "days_in_arrears",
                ]
            },
        ),
        (
            "Terms",
            {
                "fields": [
                    "interest_method",
                    "interest_rate",
                    "rate_period",
                    "repayment_frequency",
                    "installments_count",
                    "rounding",
                    "installment_multiple",
                    "fee",
                    "fee_mode",
                ],
                "classes": ["collapse"],
            },
        ),
        ("Write-off", {"fields": ["write_off_requested_by", "write_off_reason"], "classes": ["collapse"]}),
        (
            "Reschedule asked for",
            {
                "fields": [
                    "reschedule_requested_by",
                    "reschedule_installments",
                    "reschedule_interest_rate",
                    "reschedule_start",
                    "reschedule_reason",
                ],
                "classes": ["collapse"],
            },
        ),
    ]
    inlines = [InstallmentInline, GuaranteeInline, ApprovalInline, CollateralInline]
    actions = [
        "approve",
        "reject",
        "disburse_cash",
        "disburse_mpesa",
        "disburse_bank",
        "approve_reschedule",
        "reject_reschedule",
        "approve_write_off",
        "reject_write_off",
        "recover",
    ]
    authority_actions = {
        "approve": "approve_loan",
        "reject": "approve_loan",
        "disburse_cash": "disburse_loan",
        "disburse_mpesa": "disburse_loan",
        "disburse_bank": "disburse_loan",
        "approve_reschedule": "approve_reschedule",
        "reject_reschedule": "approve_reschedule",
        "approve_write_off": "approve_write_off",
        "reject_write_off": "approve_write_off",
        "recover": "recover_loan",
    }
    change_list_template = "admin/finance/loan/change_list.html"
    change_form_template = "admin/finance/loan/change_form.html"

    def has_add_permission(self, request):
        return False  # members apply through the app; officers through the API on their behalf

    @admin.display(description="Borrower", ordering="membership__member_number")
    def borrower(self, obj):
        return f"{obj.membership.member_number} {obj.membership.user.get_full_name()}"

    @admin.display(description="Outstanding principal")
    def outstanding(self, obj):
        account = obj.receivable_account
        return f"{shown(account.normal_balance)}" if account else "—"

    @admin.display(description="Payoff today")
    def payoff_today(self, obj):
        return shown(loan_reads.payoff_amount(loan=obj)) if obj.status in Loan.OUTSTANDING_STATUSES else "—"

    @admin.display(description="Eligibility and guarantees")
    def review(self, obj):
        check = loans.eligibility(obj.membership, obj.product, under_review=obj)
        rules = format_html_join(
            "", "<li>{} {}</li>", (("✔" if rule.passed else "✘", rule.reason) for rule in check.rules)
        )
        gaps = loan_reads.coverage_gaps(loan=obj) or ["Guarantees complete."]
        approvals = obj.approvals.filter(decision=LoanApproval.Decision.APPROVE).count()
        return format_html(
            "<ul>{}</ul><p>Largest amount now: <strong>{}</strong></p><p>{}</p><p>Approvals: {} of {}</p>",
            rules,
            shown(check.max_amount),
            " ".join(gaps),
            approvals,
            loan_reads.approvals_needed(loan=obj),
        )

    def get_urls(self):
        return [
            self.guarded_path("portfolio/", self.portfolio_view, "finance_loan_portfolio", "view_books"),
            self.guarded_path("<int:pk>/repay/", self.repay_view, "finance_loan_repay", "record_payment"),
            *super().get_urls(),
        ]

    def repay_view(self, request, pk):
        loan = get_object_or_404(self.get_queryset(request), pk=pk)
        form = RepaymentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                loans.loan_repay(loan=loan, by=request.user, **form.cleaned_data)
            except (ValidationError, authority.Refused) as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, f"Repayment of {shown(form.cleaned_data['amount'])} recorded.")
                return redirect("admin:finance_loan_change", pk)
        title = (
            f"Repayment on loan #{loan.pk} — payoff today {shown(loan_reads.payoff_amount(loan=loan))}"
            if loan.status in Loan.OUTSTANDING_STATUSES
            else f"Loan #{loan.pk}"
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "form": form,
            "subject": loan,
        }
        return TemplateResponse(request, "admin/finance/form_page.html", context)

    def portfolio_view(self, request):
        summaries = [
            (chama, loan_reads.portfolio(chama=chama))
            for chama in register.chamas_where(user=request.user, action="view_books")
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Loan portfolio",
            "summaries": summaries,
        }
        return TemplateResponse(request, "admin/finance/loan/portfolio.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        loan = self.get_object(request, object_id)
        may_repay = (
            loan is not None and loan.status in Loan.OUTSTANDING_STATUSES and self.may(request, "record_payment", loan)
        )
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "may_repay": may_repay})

    def _run(self, request, queryset, service, done, **kwargs):
        self.run_service_per_row(request, queryset, lambda loan: service(loan=loan, by=request.user, **kwargs), done)

    @admin.action(description="Approve selected loans", permissions=["change"])
    def approve(self, request, queryset):
        self._run(request, queryset, loans.loan_approve, "{count} approval(s) recorded.")

    @admin.action(description="Reject selected loans", permissions=["change"])
    def reject(self, request, queryset):
        self._run(request, queryset, loans.loan_reject, "{count} loan(s) rejected.")

    @admin.action(description="Disburse selected approved loans in cash", permissions=["change"])
    def disburse_cash(self, request, queryset):
        self._run(request, queryset, loans.loan_disburse, "{count} loan(s) disbursed.", method="cash")

    @admin.action(description="Disburse selected approved loans by M-Pesa", permissions=["change"])
    def disburse_mpesa(self, request, queryset):
        self._run(request, queryset, loans.loan_disburse, "{count} loan(s) disbursed.", method="mpesa")

    @admin.action(description="Disburse selected approved loans from the bank", permissions=["change"])
    def disburse_bank(self, request, queryset):
        self._run(request, queryset, loans.loan_disburse, "{count} loan(s) disbursed.", method="bank")

    @admin.action(description="Approve the requested reschedule (second officer)", permissions=["change"])
    def approve_reschedule(self, request, queryset):
        self._run(request, queryset, loans.reschedule_approve, "{count} loan(s) rescheduled.")

    @admin.action(description="Reject the requested reschedule", permissions=["change"])
    def reject_reschedule(self, request, queryset):
        self._run(request, queryset, loans.reschedule_reject, "{count} reschedule request(s) rejected.")

    @admin.action(description="Approve the requested write-off (second officer)", permissions=["change"])
    def approve_write_off(self, request, queryset):
        self._run(request, queryset, loans.write_off_approve, "{count} loan(s) written off.")

    @admin.action(description="Reject the requested write-off", permissions=["change"])
    def reject_write_off(self, request, queryset):
        self._run(request, queryset, loans.write_off_reject, "{count} write-off request(s) rejected.")

    @admin.action(description="Recover defaulted loans from their guarantors' savings", permissions=["change"])
    def recover(self, request, queryset):
        self._run(request, queryset, loans.recover_from_guarantors, "{count} loan(s) recovered from guarantors.")
