"""Balances on the member page of the groups admin (finance sits above groups, so it adds them)."""

from django.contrib import admin

from chama.admin_scoping import ChamaScopedTabularInline, add_inline
from chama.money import shown
from finance.admin.ledger import ReadOnlyMixin
from finance.models import Account
from groups.models import Membership


class MemberAccountInline(ReadOnlyMixin, ChamaScopedTabularInline):
    model = Account
    fk_name = "membership"
    fields = ["code", "name", "balance_shown"]
    readonly_fields = fields
    verbose_name_plural = "Balances"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("chama")  # each row shows its chama's currency

    @admin.display(description="Balance")
    def balance_shown(self, obj):
        return f"{shown(obj.normal_balance, obj.chama.currency)}"


add_inline(Membership, MemberAccountInline)
