"""Savings cycles in the back office: opening one, the share-out preview with the forms that ask
for the share-out (or a leaving member's), and the second officer's approval."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from chama import authority
from chama.admin_scoping import ChamaScopedAdmin, ChamaScopedTabularInline, add_refusal_beside_fields
from finance.admin.books import ServiceCreatedAdmin
from finance.admin.ledger import ReadOnlyMixin
from finance.admin.signatures import AwaitingSignatureAdmin
from finance.models import PaidThrough, SavingsCycle, ShareOut, ShareOutLine
from finance.selectors import savings_cycles as reads
from finance.services import savings_cycles
from groups.models import Membership


class SavingsCycleForm(forms.ModelForm):
    class Meta:
        model = SavingsCycle
        fields = [
            "chama",
            "name",
            "start_date",
            "planned_end_date",
            "share_price",
            "shares_min_per_meeting",
            "shares_max_per_meeting",
            "rounding_unit",
            "remainder_to",
        ]
        help_texts = {"share_price": "Blank: the policy's share price."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("share_price", "shares_min_per_meeting", "shares_max_per_meeting"):
            if name in self.fields:
                self.fields[name].required = False

    def validate_unique(self):
        pass  # the service creates the row and says when a cycle already runs

    def _post_clean(self):
        pass  # the service fills the defaults from the policy and checks the row


class ShareOutForm(forms.Form):
    method = forms.ChoiceField(choices=PaidThrough.choices, help_text="How the payouts are paid.")
    value_date = forms.DateField(required=False, help_text="The share-out's date (blank: today).")
    next_cycle_name = forms.CharField(
        max_length=100, required=False, help_text="Open the next cycle at the close (members may roll over into it)."
    )
    next_planned_end_date = forms.DateField(required=False)


class MemberExitForm(forms.Form):
    membership = forms.ModelChoiceField(queryset=Membership.objects.none(), label="Member leaving")
    method = forms.ChoiceField(choices=PaidThrough.choices)

    def __init__(self, *args, chama, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = chama.memberships.select_related("user").order_by("member_number")


@admin.register(SavingsCycle)
class SavingsCycleAdmin(ServiceCreatedAdmin):
    form = SavingsCycleForm
    refusals_on_form = True
    list_display = ["name", "chama", "status", "share_price", "start_date", "planned_end_date", "preview"]
    list_filter = ["chama", "status"]
    search_fields = ["name"]

    def get_urls(self):
        return [
            self.guarded_path(
                "<int:pk>/share-out/", self.share_out_view, "finance_savingscycle_share_out", "share_out", "view_books"
            ),
            *super().get_urls(),
        ]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "preview"] if obj else []

    @admin.display(description="Share-out")
    def preview(self, cycle):
        label = "The share-out" if cycle.status == SavingsCycle.Status.CLOSED else "Preview the share-out"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:finance_savingscycle_share_out", args=[cycle.pk]), label
        )

    def create_with_service(self, request, form):
        data = {name: value for name, value in form.cleaned_data.items() if value is not None}
        return savings_cycles.cycle_open(by=request.user, **data)

    def share_out_view(self, request, pk):
        """The preview (or the posted share-out), and the forms that ask for the share-out."""
        cycle = get_object_or_404(self.get_queryset(request).select_related("chama__policy"), pk=pk)
        posting = request.method == "POST"
        share_out_form = ShareOutForm(request.POST if posting and "share_out" in request.POST else None)
        exit_form = MemberExitForm(request.POST if posting and "exit" in request.POST else None, chama=cycle.chama)
        for form in (share_out_form, exit_form):
            if form.is_bound and form.is_valid():
                try:
                    asked = savings_cycles.share_out_request(cycle=cycle, by=request.user, **form.cleaned_data)
                except (ValidationError, authority.Refused) as exc:
                    add_refusal_beside_fields(form, exc)
                else:
                    messages.success(request, f"{asked} — a second officer approves it under Share-outs.")
                    return redirect("admin:finance_shareout_change", asked.pk)
        try:
            figures, problem = reads.share_out_figures(cycle=cycle), None
        except ValidationError as exc:
            figures, problem = None, " ".join(exc.messages)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{cycle.name}: the share-out",
            "cycle": cycle,
            "figures": figures,
            "problem": problem,
            "may_ask": cycle.status == SavingsCycle.Status.ACTIVE and authority.may(request.user, "share_out", cycle),
            "share_out_form": share_out_form,
            "exit_form": exit_form,
        }
        return TemplateResponse(request, "admin/finance/savingscycle/share_out.html", context)


class ShareOutLineInline(ReadOnlyMixin, ChamaScopedTabularInline):
    model = ShareOutLine
    fields = [
        "membership",
        "shares",
        "savings",
        "profit_share",
        "deductions",
        "net_payout",
        "rolled_over",
        "still_owed",
    ]
    readonly_fields = fields
    verbose_name_plural = "what each member received"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("membership__user")


@admin.register(ShareOut)
class ShareOutAdmin(AwaitingSignatureAdmin, ReadOnlyMixin, ChamaScopedAdmin):
    signature_action = "approve_share_out"
    waiting_status = ShareOut.Status.PENDING
    list_display = ["cycle", "whom", "method", "value_date", "status", "fund", "requested_by", "approved_by"]
    list_filter = ["chama", "status"]
    search_fields = ["cycle__name", "membership__member_number", "membership__user__last_name"]
    list_select_related = ["cycle", "membership__user", "requested_by", "approved_by"]
    readonly_fields = [
        "chama",
        "cycle",
        "membership",
        "method",
        "value_date",
        "status",
        "awaiting_signature",
        "next_cycle_name",
        "next_planned_end_date",
        "fund",
        "total_shares",
        "value_per_share",
        "remainder",
        "requested_by",
        "approved_by",
        "decided_reason",
        "created_date",
    ]
    inlines = [ShareOutLineInline]
    actions = ["approve", "reject"]
    authority_actions = {"approve": "approve_share_out", "reject": "approve_share_out"}

    def has_change_permission(self, request, obj=None):
        return obj is None and super(ReadOnlyMixin, self).has_change_permission(request, obj)

    @admin.display(description="To")
    def whom(self, share_out):
        return share_out.membership or "All members"

    @admin.action(description="Approve the selected share-outs (as the second officer)", permissions=["change"])
    def approve(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=ShareOut.Status.PENDING),
            lambda row: savings_cycles.share_out_approve(share_out=row, by=request.user),
            "{count} share-out(s) approved and posted.",
        )

    @admin.action(description="Reject the selected share-outs", permissions=["change"])
    def reject(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=ShareOut.Status.PENDING),
            lambda row: savings_cycles.share_out_reject(
                share_out=row, by=request.user, reason="Rejected in the back office"
            ),
            "{count} share-out(s) rejected.",
        )
