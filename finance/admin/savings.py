from django.contrib import admin

from chama.admin_scoping import ChamaScopedAdmin
from finance.admin.ledger import ReadOnlyMixin
from finance.admin.signatures import AwaitingSignatureAdmin
from finance.models import SavingsType, Withdrawal
from finance.services import savings


@admin.register(SavingsType)
class SavingsTypeAdmin(ChamaScopedAdmin):
    edit_action = "manage_dues"
    list_display = ["name", "code", "chama", "minimum_balance", "withdrawal_notice_days", "locked_until", "is_default"]
    list_filter = ["chama", "is_default"]
    search_fields = ["name", "code"]


@admin.register(Withdrawal)
class WithdrawalAdmin(AwaitingSignatureAdmin, ReadOnlyMixin, ChamaScopedAdmin):
    signature_action = "approve_withdrawal"
    waiting_status = Withdrawal.Status.REQUESTED
    list_display = ["membership", "savings_type", "amount", "status", "payable_from", "approved_by", "created_date"]
    list_filter = ["chama", "status"]
    search_fields = ["membership__member_number", "membership__user__first_name", "membership__user__last_name"]
    list_select_related = ["membership__user", "membership__chama", "savings_type"]
    readonly_fields = [
        "chama",
        "membership",
        "savings_type",
        "amount",
        "reason",
        "status",
        "requested_by",
        "awaiting_signature",
        "payable_from",
        "decided_reason",
        "journal",
        "created_date",
    ]
    exclude = ["approvals"]
    actions = ["approve", "reject", "pay_cash", "pay_mpesa", "pay_bank"]
    authority_actions = {
        "approve": "approve_withdrawal",
        "reject": "approve_withdrawal",
        "pay_cash": "pay_withdrawal",
        "pay_mpesa": "pay_withdrawal",
        "pay_bank": "pay_withdrawal",
    }

    def has_change_permission(self, request, obj=None):
        return obj is None and super(ReadOnlyMixin, self).has_change_permission(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("approvals")

    def signed_by(self, obj):
        return [obj.requested_by_id, *(user.pk for user in obj.approvals.all())]

    @admin.display(description="Approved by")
    def approved_by(self, obj):
        return ", ".join(user.get_full_name() for user in obj.approvals.all())

    @admin.action(description="Approve selected withdrawals", permissions=["change"])
    def approve(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset,
            lambda row: savings.withdrawal_approve(withdrawal=row, by=request.user),
            "{count} approval(s) recorded.",
        )

    @admin.action(description="Reject selected withdrawals", permissions=["change"])
    def reject(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset,
            lambda row: savings.withdrawal_reject(withdrawal=row, by=request.user),
            "{count} withdrawal(s) rejected.",
        )

    def _pay(self, request, queryset, method):
        self.run_service_per_row(
            request,
            queryset,
            lambda row: savings.withdrawal_pay(withdrawal=row, method=method, by=request.user),
            "{count} withdrawal(s) paid.",
        )

    @admin.action(description="Pay selected approved withdrawals in cash", permissions=["change"])
    def pay_cash(self, request, queryset):
        self._pay(request, queryset, "cash")

    @admin.action(description="Pay selected approved withdrawals by M-Pesa", permissions=["change"])
    def pay_mpesa(self, request, queryset):
        self._pay(request, queryset, "mpesa")

    @admin.action(description="Pay selected approved withdrawals from the bank", permissions=["change"])
    def pay_bank(self, request, queryset):
        self._pay(request, queryset, "bank")
