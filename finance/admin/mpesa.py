from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from chama import authority
from chama.admin_scoping import ChamaScopedAdmin, add_refusal
from finance.admin.forms import MemberChoiceField
from finance.admin.ledger import ReadOnlyMixin
from finance.models import MpesaChannel, MpesaReceipt, StkRequest
from finance.services import mpesa
from groups.models import Membership


@admin.register(MpesaChannel)
class MpesaChannelAdmin(ChamaScopedAdmin):
    edit_action = "manage_mpesa_channel"
    list_display = ["chama", "shortcode"]
    readonly_fields = ["callback_urls"]
    fields = ["chama", "shortcode", "callback_urls"]

    @admin.display(description="Give Safaricom these URLs")
    def callback_urls(self, obj):
        if not obj.pk:
            return "Shown after saving."
        query = f"?secret={obj.callback_secret}"
        c2b = reverse("mpesa-c2b-callback", kwargs={"chama_id": obj.chama_id})
        stk = reverse("mpesa-stk-callback", kwargs={"chama_id": obj.chama_id})
        return format_html("C2B confirmation: <code>{}{}</code><br>STK callback: <code>{}{}</code>", c2b, query, stk, query)


class AssignForm(forms.Form):
    membership = MemberChoiceField(queryset=Membership.objects.none(), label="Member")


@admin.register(MpesaReceipt)
class MpesaReceiptAdmin(ReadOnlyMixin, ChamaScopedAdmin):
    """Every M-Pesa receipt; filter by "Waiting in suspense" for the ones no member matched."""

    list_display = ["receipt_number", "chama", "amount", "phone_number", "account_reference", "payer_name", "status", "membership", "assign_link"]
    list_filter = ["chama", "status", "source"]
    search_fields = ["=receipt_number", "phone_number", "account_reference", "payer_name"]
    list_select_related = ["chama", "membership__user"]
    readonly_fields = ["chama", "source", "receipt_number", "amount", "phone_number", "account_reference", "payer_name",
                       "transaction_time", "status", "membership", "journal", "assignment_journal", "assigned_by", "payload"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super(ReadOnlyMixin, self).has_change_permission(request, obj)

    @admin.display(description="")
    def assign_link(self, obj):
        if obj.status != MpesaReceipt.Status.SUSPENSE:
            return ""
        return format_html('<a href="{}">Assign to a member</a>', reverse("admin:finance_mpesareceipt_assign", args=[obj.pk]))

    def get_urls(self):
        return [self.guarded_path("<int:pk>/assign/", self.assign_view, "finance_mpesareceipt_assign", "record_payment"),
                *super().get_urls()]

    def assign_view(self, request, pk):
        receipt = get_object_or_404(self.get_queryset(request).select_related("chama"), pk=pk)
        form = AssignForm(request.POST or None)
        form.fields["membership"].queryset = Membership.objects.filter(chama=receipt.chama).select_related("user", "chama")
        if request.method == "POST" and form.is_valid():
            try:
                mpesa.suspense_assign(receipt=receipt, membership=form.cleaned_data["membership"], by=request.user)
            except (ValidationError, authority.Refused) as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, f"{receipt.receipt_number} assigned to {form.cleaned_data['membership'].user.get_full_name()}.")
                return redirect("admin:finance_mpesareceipt_changelist")
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form, "subject": receipt,
                   "title": f"Assign M-Pesa {receipt.receipt_number} ({receipt.amount:,.2f} from {receipt.phone_number or 'unknown'})"}
        return TemplateResponse(request, "admin/finance/form_page.html", context)


@admin.register(StkRequest)
class StkRequestAdmin(ReadOnlyMixin, ChamaScopedAdmin):
    list_display = ["created_date", "chama", "membership", "phone_number", "amount", "result_code", "result_description"]
    list_filter = ["chama"]
    search_fields = ["checkout_request_id", "phone_number"]
    readonly_fields = ["chama", "membership", "phone_number", "amount", "checkout_request_id", "merchant_request_id",
                       "requested_by", "result_code", "result_description"]
