from django import forms
from django.contrib import admin

from chama.admin_scoping import ChamaScopedAdmin, CreatedByServiceMixin
from finance.admin.signatures import AwaitingSignatureAdmin
from finance.models import BackdatingApproval
from finance.services import backdating


class BackdatingRequestForm(forms.ModelForm):
    class Meta:
        model = BackdatingApproval
        fields = ["chama", "earliest_date", "reason"]

    def clean(self):
        data = super().clean()
        if data.get("chama") and data.get("earliest_date"):
            problem = backdating.request_problem(data["chama"], data["earliest_date"])
            if problem:
                self.add_error("earliest_date", problem)
        return data

    def validate_unique(self):
        pass  # the service creates the row


@admin.register(BackdatingApproval)
class BackdatingApprovalAdmin(AwaitingSignatureAdmin, CreatedByServiceMixin, ChamaScopedAdmin):
    """The chairperson asks here (*Add*) that money may be dated further back than the policy's
    window; another officer approves or rejects it from the list, through their own login. An
    approval is in force for a few days."""

    form = BackdatingRequestForm
    edit_action = "request_backdating"
    signature_action = "approve_backdating"
    list_display = [
        "earliest_date",
        "chama",
        "reason",
        "state",
        "requested_by",
        "decided_by",
        "decided_date",
        "expires_date",
    ]
    list_filter = ["chama", "status"]
    search_fields = ["reason", "requested_by__first_name", "requested_by__last_name"]
    list_select_related = ["chama", "requested_by", "decided_by"]
    readonly_fields = [
        "chama",
        "earliest_date",
        "reason",
        "state",
        "requested_by",
        "awaiting_signature",
        "decided_by",
        "decided_date",
        "expires_date",
        "rejection_reason",
        "created_date",
    ]
    actions = ["approve", "reject"]
    authority_actions = {"approve": "approve_backdating", "reject": "approve_backdating"}

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj else BackdatingRequestForm.Meta.fields

    def has_change_permission(self, request, obj=None):
        # The change permission is what deciding needs (any officer: the authority decides per
        # row); a saved request stays read-only.
        return obj is None and admin.ModelAdmin.has_change_permission(self, request)

    def has_delete_permission(self, request, obj=None):
        return False  # the record of who asked and who signed

    @admin.display(description="Status")
    def state(self, obj):
        return obj.state

    def create_with_service(self, request, form):
        return backdating.backdating_request(by=request.user, **form.cleaned_data)

    @admin.action(description="Approve the selected requests (as the second officer)", permissions=["change"])
    def approve(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=BackdatingApproval.Status.PENDING),
            lambda row: backdating.backdating_approve(approval=row, by=request.user),
            "{count} backdating request(s) approved.",
        )

    @admin.action(description="Reject the selected requests", permissions=["change"])
    def reject(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=BackdatingApproval.Status.PENDING),
            lambda row: backdating.backdating_reject(
                approval=row, by=request.user, reason="Rejected in the back office"
            ),
            "{count} backdating request(s) rejected.",
        )
