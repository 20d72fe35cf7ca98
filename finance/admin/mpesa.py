from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from chama import authority
from chama.admin_scoping import ChamaScopedAdmin, add_refusal
from chama.money import shown
from finance.admin.forms import MemberChoiceField
from finance.admin.ledger import ReadOnlyMixin
from finance.models import MpesaChannel, MpesaConflict, MpesaReceipt, StkRequest
from finance.services import mpesa
from groups.models import Membership


@admin.register(MpesaChannel)
class MpesaChannelAdmin(ChamaScopedAdmin):
    """A chama's paybill. Its callback secret is made by the server and shown once, on the page that
    follows saving a new channel or rotating the secret; it is stored only as a keyed hash."""

    edit_action = "manage_mpesa_channel"
    authority_actions = {"rotate_secret": "manage_mpesa_channel"}
    actions = ["rotate_secret"]
    list_display = ["chama", "shortcode"]
    readonly_fields = ["callback_urls"]
    fields = ["chama", "shortcode", "callback_urls"]

    @admin.display(description="Callback URL for Safaricom")
    def callback_urls(self, obj):
        if not obj.pk:
            return "Shown once, after saving."
        return format_html(
            "C2B confirmation URL: <code>{}</code><br>SECRET stands for the callback secret, shown once when the "
            "channel was made or its secret last rotated; it is kept only as a hash and cannot be shown again. "
            "Lost it, or think someone else saw it? Rotate the secret and register the new URL with Safaricom.",
            mpesa.c2b_confirmation_url(obj, "SECRET"),
        )

    def get_urls(self):
        return [
            self.guarded_path(
                "<int:pk>/rotate-secret/", self.rotate_view, "finance_mpesachannel_rotate", "manage_mpesa_channel"
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        may_rotate = authority.chama_ids_for(request.user, "manage_mpesa_channel") != set()
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "may_rotate": may_rotate})

    def response_add(self, request, obj, post_url_continue=None):
        # The secret exists in plain text only on this instance: show it now, on this response
        # (a message would keep it in the session store until read).
        return self._secret_page(request, [obj], [obj.new_secret], "Channel saved: register this URL with Safaricom")

    @admin.action(description="Rotate secret (the old one stops working at once)")
    def rotate_secret(self, request, queryset):
        channels = list(queryset.select_related("chama"))
        if request.POST.get("confirm") != "yes":
            return self._confirm_page(request, channels, action="rotate_secret")
        return self._rotate(request, channels)

    def rotate_view(self, request, pk):
        channel = get_object_or_404(self.get_queryset(request).select_related("chama"), pk=pk)
        if request.method != "POST" or request.POST.get("confirm") != "yes":
            return self._confirm_page(request, [channel])
        return self._rotate(request, [channel]) or redirect("admin:finance_mpesachannel_change", channel.pk)

    def _rotate(self, request, channels):
        rotated, secrets = [], []
        for channel in channels:
            try:
                secrets.append(mpesa.channel_secret_rotate(channel=channel, by=request.user))
            except authority.Refused as exc:
                self.message_user(request, f"{channel}: {exc.reason}", messages.ERROR)
            else:
                rotated.append(channel)
        if not rotated:
            return None
        return self._secret_page(request, rotated, secrets, "New secret: register this URL with Safaricom")

    def _confirm_page(self, request, channels, action=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "channels": channels,
            "action": action,
            "title": "Rotate the callback secret?",
        }
        return TemplateResponse(request, "admin/finance/mpesachannel/rotate_confirm.html", context)

    def _secret_page(self, request, channels, secrets, title):
        rows = [
            (channel, mpesa.c2b_confirmation_url(channel, secret))
            for channel, secret in zip(channels, secrets, strict=True)
        ]
        context = {**self.admin_site.each_context(request), "opts": self.opts, "rows": rows, "title": title}
        # admin_view marks every admin page never_cache (Cache-Control: no-store): no proxy or browser keeps it.
        return TemplateResponse(request, "admin/finance/mpesachannel/secret_once.html", context)


class AssignForm(forms.Form):
    membership = MemberChoiceField(queryset=Membership.objects.none(), label="Member")


@admin.register(MpesaReceipt)
class MpesaReceiptAdmin(ReadOnlyMixin, ChamaScopedAdmin):
    """Every M-Pesa receipt; filter by "Waiting in suspense" for the ones no member matched."""

    list_display = [
        "receipt_number",
        "chama",
        "amount",
        "payer_msisdn",
        "account_reference",
        "payer_name",
        "status",
        "membership",
        "assign_link",
    ]
    list_filter = ["chama", "status", "source"]
    search_fields = ["=receipt_number", "phone_number", "payer_msisdn", "account_reference", "payer_name"]
    list_select_related = ["chama", "membership__user"]
    readonly_fields = [
        "chama",
        "source",
        "receipt_number",
        "amount",
        "phone_number",
        "payer_msisdn",
        "account_reference",
        "payer_name",
        "transaction_time",
        "status",
        "membership",
        "journal",
        "assignment_journal",
        "assigned_by",
        "payload",
    ]

    def has_change_permission(self, request, obj=None):
        return obj is None and super(ReadOnlyMixin, self).has_change_permission(request, obj)

    @admin.display(description="")
    def assign_link(self, obj):
        if obj.status != MpesaReceipt.Status.SUSPENSE:
            return ""
        return format_html(
            '<a href="{}">Assign to a member</a>', reverse("admin:finance_mpesareceipt_assign", args=[obj.pk])
        )

    def get_urls(self):
        return [
            self.guarded_path("<int:pk>/assign/", self.assign_view, "finance_mpesareceipt_assign", "record_payment"),
            *super().get_urls(),
        ]

    def assign_view(self, request, pk):
        receipt = get_object_or_404(self.get_queryset(request).select_related("chama"), pk=pk)
        form = AssignForm(request.POST or None)
        form.fields["membership"].queryset = Membership.objects.filter(chama=receipt.chama).select_related(
            "user", "chama"
        )
        if request.method == "POST" and form.is_valid():
            try:
                mpesa.suspense_assign(receipt=receipt, membership=form.cleaned_data["membership"], by=request.user)
            except (ValidationError, authority.Refused) as exc:
                add_refusal(form, exc)
            else:
                messages.success(
                    request,
                    f"{receipt.receipt_number} assigned to {form.cleaned_data['membership'].user.get_full_name()}.",
                )
                return redirect("admin:finance_mpesareceipt_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "subject": receipt,
            "title": f"Assign M-Pesa {receipt.receipt_number} ({shown(receipt.amount)} from {receipt.phone_number or 'unknown'})",
        }
        return TemplateResponse(request, "admin/finance/form_page.html", context)


@admin.register(MpesaConflict)
class MpesaConflictAdmin(ReadOnlyMixin, ChamaScopedAdmin):
    """Callbacks that reused a receipt number with other details: nothing was posted for them.
    Compare with the M-Pesa statement; if the first receipt was wrong, reverse its journal."""

    list_display = ["created_date", "receipt_number", "chama", "source", "what_differed", "first_receipt"]
    list_filter = ["chama", "source", "created_date"]
    search_fields = ["=receipt_number"]
    list_select_related = ["chama", "receipt"]
    date_hierarchy = "created_date"
    readonly_fields = ["chama", "receipt_number", "source", "receipt", "differences", "payload", "created_date"]
    exclude = ["fingerprint"]

    @admin.display(description="What differed")
    def what_differed(self, obj):
        return "; ".join(
            f"{name}: {first or '(none)'} → {again or '(none)'}" for name, (first, again) in obj.differences.items()
        )

    @admin.display(description="First recorded")
    def first_receipt(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:finance_mpesareceipt_change", args=[obj.receipt_id]), obj.receipt
        )


@admin.register(StkRequest)
class StkRequestAdmin(ReadOnlyMixin, ChamaScopedAdmin):
    list_display = [
        "created_date",
        "chama",
        "membership",
        "phone_number",
        "amount",
        "result_code",
        "result_description",
    ]
    list_filter = ["chama"]
    search_fields = ["checkout_request_id", "phone_number"]
    readonly_fields = [
        "chama",
        "membership",
        "phone_number",
        "amount",
        "checkout_request_id",
        "merchant_request_id",
        "requested_by",
        "result_code",
        "result_description",
    ]
