from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from chama import authority
from chama.admin_scoping import ChamaScopedAdmin, CreatedByServiceMixin, add_refusal
from chama.money import shown
from finance.admin.forms import WaiveForm
from finance.admin.ledger import ReadOnlyMixin
from finance.admin.signatures import AwaitingSignatureAdmin
from finance.models import ContributionPlan, Due, Waiver
from finance.selectors import dues as dues_reads
from finance.services import dues
from groups import selectors as register


@admin.register(ContributionPlan)
class ContributionPlanAdmin(CreatedByServiceMixin, ChamaScopedAdmin):
    edit_action = "manage_dues"
    list_display = ["name", "chama", "kind", "amount", "frequency", "due_day", "grace_days", "target", "is_active"]
    list_filter = ["chama", "kind", "frequency", "is_active"]
    search_fields = ["name"]
    actions = ["raise_current_dues"]
    authority_actions = {"raise_current_dues": "manage_dues"}

    def created_by_service(self, form, change):
        # A new special levy raises a due for every active member at once; other plans save as usual.
        return not change and form.cleaned_data["kind"] == ContributionPlan.Kind.LEVY

    def create_with_service(self, request, form):
        data = form.cleaned_data
        return dues.levy_create(
            chama=data["chama"],
            name=data["name"],
            amount=data["amount"],
            due_date=data["levy_due_date"],
            by=request.user,
            grace_days=data["grace_days"],
            target=data["target"],
        )

    @admin.action(description="Raise this period's dues for the selected plans", permissions=["change"])
    def raise_current_dues(self, request, queryset):
        raised = 0
        allowed = authority.chama_ids_for(request.user, "manage_dues")
        if allowed is not None:
            queryset = queryset.filter(chama_id__in=allowed)
        for plan in queryset.filter(kind=ContributionPlan.Kind.REGULAR, is_active=True):
            raised += sum(
                row[3] for row in dues.generate_dues(period=plan.chama.today(), chama=plan.chama) if row[1] == plan
            )
        self.message_user(request, f"{raised} due(s) raised.", messages.SUCCESS)


@admin.register(Due)
class DueAdmin(ReadOnlyMixin, ChamaScopedAdmin):
    list_display = [
        "description",
        "member",
        "chama",
        "kind",
        "due_date",
        "amount",
        "paid_amount",
        "waived_amount",
        "status",
    ]
    list_filter = ["chama", "kind", "status", "period_label"]
    search_fields = [
        "description",
        "membership__member_number",
        "membership__user__first_name",
        "membership__user__last_name",
    ]
    list_select_related = ["membership__user", "chama"]
    date_hierarchy = "due_date"
    readonly_fields = [
        "chama",
        "membership",
        "kind",
        "plan",
        "period_label",
        "description",
        "due_date",
        "late_after",
        "amount",
        "paid_amount",
        "waived_amount",
        "status",
        "fine_for",
        "fine_period",
        "charge_journal",
    ]
    change_form_template = "admin/finance/due/change_form.html"
    change_list_template = "admin/finance/due/change_list.html"

    @admin.display(description="Member", ordering="membership__member_number")
    def member(self, obj):
        return f"{obj.membership.member_number} {obj.membership.user.get_full_name()}"

    def get_urls(self):
        return [
            self.guarded_path("matrix/", self.matrix_view, "finance_due_matrix", "view_books"),
            self.guarded_path("<int:pk>/waive/", self.waive_view, "finance_due_waive", "waive"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        due = self.get_object(request, object_id)
        may_waive = due is not None and due.status in Due.OPEN_STATUSES and self.may(request, "waive", due)
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "may_waive": may_waive})

    def waive_view(self, request, pk):
        due = get_object_or_404(self.get_queryset(request).select_related("chama", "membership__user"), pk=pk)
        form = WaiveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                waiver = dues.waiver_request(
                    due=due, by=request.user, reason=form.cleaned_data["reason"], amount=form.cleaned_data["amount"]
                )
            except (ValidationError, authority.Refused) as exc:
                add_refusal(form, exc)
            else:
                if waiver.status == Waiver.Status.APPLIED:
                    messages.success(request, f"{shown(waiver.amount)} waived.")
                else:
                    messages.warning(
                        request,
                        f"The waiver of {shown(waiver.amount)} is above the chama's threshold: a second officer must approve it under Waivers.",
                    )
                return redirect("admin:finance_due_change", pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Waive: {due}",
            "form": form,
            "subject": due,
        }
        return TemplateResponse(request, "admin/finance/form_page.html", context)

    def matrix_view(self, request):
        """Members × periods: what each member owed and paid, period by period."""
        picker = MatrixPicker(request.GET or None, chamas=register.chamas_where(user=request.user, action="view_books"))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "Dues matrix", "picker": picker}
        if picker.is_valid():
            context.update(dues_reads.dues_matrix(chama=picker.cleaned_data["chama"], kind=picker.cleaned_data["kind"]))
        return TemplateResponse(request, "admin/finance/due/matrix.html", context)


class MatrixPicker(forms.Form):
    chama = forms.ModelChoiceField(queryset=None)
    kind = forms.ChoiceField(
        choices=[(Due.Kind.CONTRIBUTION, "Contributions"), (Due.Kind.LEVY, "Levies"), (Due.Kind.FINE, "Fines")]
    )

    def __init__(self, *args, chamas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chama"].queryset = chamas


@admin.register(Waiver)
class WaiverAdmin(AwaitingSignatureAdmin, ReadOnlyMixin, ChamaScopedAdmin):
    signature_action = "approve_waiver"
    list_display = ["due", "amount", "reason", "status", "requested_by", "approved_by", "created_date"]
    list_filter = ["chama", "status"]
    search_fields = ["reason", "due__membership__member_number"]
    list_select_related = ["due__membership__user", "requested_by", "approved_by"]
    readonly_fields = [
        "chama",
        "due",
        "amount",
        "reason",
        "status",
        "requested_by",
        "awaiting_signature",
        "approved_by",
        "decided_date",
        "journal",
    ]
    actions = ["approve", "reject"]
    authority_actions = {"approve": "approve_waiver", "reject": "approve_waiver"}

    def has_change_permission(self, request, obj=None):
        # The change permission is what approving needs; the form itself stays read-only.
        return obj is None and super(ReadOnlyMixin, self).has_change_permission(request, obj)

    @admin.action(description="Approve selected waivers (as the second officer)", permissions=["change"])
    def approve(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=Waiver.Status.PENDING),
            lambda row: dues.waiver_approve(waiver=row, by=request.user),
            "{count} waiver(s) approved.",
        )

    @admin.action(description="Reject selected waivers", permissions=["change"])
    def reject(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=Waiver.Status.PENDING),
            lambda row: dues.waiver_reject(waiver=row, by=request.user),
            "{count} waiver(s) rejected.",
        )
