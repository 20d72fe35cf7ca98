from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from phonenumber_field.formfields import PhoneNumberField

from chama import authority
from chama.admin_scoping import (
    ChamaScopedAdmin,
    ChamaScopedStackedInline,
    CreatedByServiceMixin,
    ReadOnlyScopedAdmin,
    take_saved,
)
from chama.roles import MembershipStatus
from groups import importing, services
from groups import selectors as register
from groups.models import (
    Chama,
    Invitation,
    JoinRequest,
    Membership,
    MembershipChangeRequest,
    Policy,
    SecurityEvent,
)


class PolicyInline(ChamaScopedStackedInline):
    edit_action = "edit_policy"
    model = Policy
    can_delete = False
    max_num = 1
    fieldsets = [
        (
            "Contributions",
            {"fields": ["contribution_amount", "contribution_frequency", "contribution_due_day", "grace_days"]},
        ),
        ("Late fines", {"fields": ["late_fine_kind", "late_fine_amount", "late_fine_rate", "late_fine_recurrence"]}),
        (
            "Shares",
            {"fields": ["share_price", "shares_min_per_meeting", "shares_max_per_meeting", "paybill_remainder"]},
        ),
        (
            "Loans",
            {
                "fields": [
                    "loan_interest_rate",
                    "loan_interest_period",
                    "loan_max_savings_multiple",
                    "loan_min_membership_days",
                    "loan_max_concurrent",
                    "loan_approvals_required",
                    "loan_min_attendance_percentage",
                    "loan_default_days",
                ]
            },
        ),
        (
            "Meetings",
            {
                "fields": [
                    "meeting_frequency",
                    "meeting_day",
                    "meeting_time",
                    "meeting_duration_minutes",
                    "excused_absences",
                    "absence_fine_amount",
                    "lateness_fine_amount",
                ]
            },
        ),
        (
            "Governance",
            {
                "fields": [
                    "quorum_percentage",
                    "vote_pass_threshold",
                    "second_approval_threshold",
                    "approval_window_days",
                    "backdating_window_days",
                    "authority",
                ]
            },
        ),
    ]


class ChamaForm(forms.ModelForm):
    user = None  # the officer editing, set by ChamaAdmin.get_form

    class Meta:
        model = Chama
        fields = "__all__"  # noqa: DJ007  ChamaAdmin's fieldsets choose the fields shown

    def clean_status(self):
        status = self.cleaned_data["status"]
        if self.instance.pk and status != self.instance.status:
            reason = authority.refusal(self.user, "change_chama_status", chama=self.instance)
            if reason:
                raise ValidationError(reason)
            services.check_chama_status_change(Chama.objects.get(pk=self.instance.pk), status)
        return status


@admin.register(Chama)
class ChamaAdmin(ChamaScopedAdmin):
    edit_action = "edit_policy"
    form = ChamaForm
    list_display = ["name", "kind", "category", "status", "members_count", "currency", "created_date"]
    list_filter = ["kind", "category", "status"]
    search_fields = ["name", "registration_number"]
    readonly_fields = ["members_count", "created_date", "updated_date"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "category", "status", "description"]}),
        ("Registration", {"fields": ["registration_number", "founded_date", "constitution", "currency", "timezone"]}),
        ("Record", {"fields": ["members_count", "created_date", "updated_date"]}),
    ]
    inlines = [PolicyInline]
    refusals_on_form = True

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        return form

    def save_model(self, request, obj, form, change):
        # A new chama is made with its policy by chama_create, in save_related (it needs the inline).
        if not change:
            return
        data = form.cleaned_data
        details = {name: _file_cleared(data[name]) for name in form.changed_data if name in services.CHAMA_DETAILS}
        if details:
            services.chama_update(chama=obj, by=request.user, **details)
        if "status" in form.changed_data:
            services.chama_change_status(chama=obj, status=data["status"], by=request.user)

    def save_related(self, request, form, formsets, change):
        policy_formsets = [formset for formset in formsets if formset.model is Policy]
        policy = {
            name: f.cleaned_data[name]
            for formset in policy_formsets
            for f in formset.forms
            if f.has_changed()
            for name in f.changed_data
            if name in services.POLICY_FIELDS
        }
        if change:
            saved = services.policy_update(chama=form.instance, by=request.user, **policy) if policy else None
        else:
            data = form.cleaned_data
            fields = {name: _file_cleared(data[name]) for name in services.CHAMA_DETAILS | {"status"} if name in data}
            chama = services.chama_create(created_by=request.user, policy=policy, **fields)
            take_saved(form.instance, chama)
            saved = chama.policy if policy else None
        for formset in policy_formsets:  # what the change message and the history say
            formset.new_objects = [saved] if saved is not None and not change else []
            formset.changed_objects = [(saved, list(policy))] if saved is not None and change else []
            formset.deleted_objects = []
        for formset in formsets:
            if formset.model is not Policy:
                self.save_formset(request, form, formset, change=change)


def _file_cleared(value):
    """A cleared file field's value as the model stores it (the form gives False)."""
    return "" if value is False else value


class MemberAddForm(forms.ModelForm):
    """Register a person (found by phone number, or new) as a member of one of your chamas."""

    phone_number = PhoneNumberField(help_text="07XX XXX XXX or +2547XX XXX XXX. An existing person is reused.")
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    email = forms.EmailField(required=False)
    id_number = forms.CharField(label="National ID number", max_length=20, required=False)

    class Meta:
        model = Membership
        fields = ["chama", "role", "member_number", "joined_date"]
        help_texts = {"member_number": "Leave blank for the next free number (M001, M002, …)."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member_number"].required = False

    def clean(self):
        data = super().clean()
        chama, phone = data.get("chama"), data.get("phone_number")
        if chama and phone:
            existing = Membership.objects.filter(chama=chama, user__phone_number=phone).first()
            if existing and existing.status in (MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED):
                raise ValidationError(
                    {
                        "phone_number": f"This person is already a member of {chama} ({existing.get_status_display().lower()})."
                    }
                )
        return data

    def validate_unique(self):
        # The membership is built by the service, which checks uniqueness under a lock.
        pass


class MembershipChangeForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["role", "status", "member_number", "joined_date", "exit_reason"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean(self):
        data = super().clean()
        membership = self.instance
        if "status" in self.changed_data:
            services.check_status_change(membership, data["status"])
        if "role" in self.changed_data and self.request is not None:
            reason = authority.refusal(self.request.user, "change_roles", membership)
            if reason:
                raise ValidationError({"role": reason})
        if "member_number" in self.changed_data and data.get("member_number"):
            services.check_member_number(membership, data["member_number"].strip())
        if details_changed(self) and self.request is not None:
            reason = authority.refusal(self.request.user, "manage_members", membership)
            if reason:
                raise ValidationError(reason)
        return data

    def validate_unique(self):
        # A new member number is checked by the service, under the chama's lock.
        pass


def details_changed(form):
    """The membership's plain facts changed on `form`; an exit reason given with a change of
    status is that change's reason (kept with it if it waits for a second officer)."""
    return [
        name
        for name in form.changed_data
        if name in services.MEMBERSHIP_DETAILS and not (name == "exit_reason" and "status" in form.changed_data)
    ]


class MemberImportForm(forms.Form):
    chama = forms.ModelChoiceField(queryset=Chama.objects.none())
    file = forms.FileField(help_text=importing.FILE_HELP)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chama"].queryset = register.chamas_where(user=user, action="manage_members")


@admin.register(Membership)
class MembershipAdmin(CreatedByServiceMixin, ChamaScopedAdmin):
    list_display = ["member_number", "name", "phone_number", "chama", "role", "status", "joined_date"]
    list_display_links = ["member_number", "name"]
    list_filter = ["chama", "role", "status"]
    search_fields = ["member_number", "user__first_name", "user__last_name", "user__phone_number", "user__email"]
    list_select_related = ["user", "chama"]
    readonly_fields = ["chama", "person", "exited_date", "created_date", "updated_date"]
    date_hierarchy = "joined_date"
    actions = ["suspend", "reinstate", "mark_exited"]
    authority_actions = {"suspend": "manage_members", "reinstate": "manage_members", "mark_exited": "manage_members"}
    change_list_template = "admin/groups/membership/change_list.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            return super().get_form(request, obj, change=change, form=MemberAddForm, **kwargs)
        form = super().get_form(request, obj, change=change, form=MembershipChangeForm, **kwargs)

        class RequestForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, request=request, **kw)

        return RequestForm

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                ("Person", {"fields": ["phone_number", "first_name", "last_name", "email", "id_number"]}),
                ("Membership", {"fields": ["chama", "role", "member_number", "joined_date"]}),
            ]
        return [
            (None, {"fields": ["chama", "person", "member_number", "role", "status", "joined_date"]}),
            ("Exit", {"fields": ["exited_date", "exit_reason"]}),
            ("Record", {"fields": ["created_date", "updated_date"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # a member being added has nothing to show yet

    @admin.display(description="Name", ordering="user__first_name")
    def name(self, obj):
        return obj.user.get_full_name()

    @admin.display(description="Phone number", ordering="user__phone_number")
    def phone_number(self, obj):
        return obj.user.phone_number

    @admin.display(description="Person")
    def person(self, obj):
        return f"{obj.user.get_full_name()} · {obj.user.phone_number} · {obj.user.email or 'no email'}"

    def create_with_service(self, request, form):
        # A new member is registered by the service, which finds or creates the person.
        data = form.cleaned_data
        return services.member_add(
            chama=data["chama"],
            by=request.user,
            phone_number=data["phone_number"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            id_number=data["id_number"],
            role=data["role"],
            member_number=data["member_number"],
            joined_date=data["joined_date"],
        )

    def response_add(self, request, obj, post_url_continue=None):
        if isinstance(obj, Invitation):  # an already registered person joins only by accepting
            self.message_user(
                request,
                f"{obj.first_name} {obj.last_name} is already registered, so they were invited rather than added: "
                f"they join {obj.chama} when they accept the invitation (they were told in the app).",
                messages.INFO,
            )
            return redirect("admin:groups_invitation_changelist")
        return super().response_add(request, obj, post_url_continue)

    def save_model(self, request, obj, form, change):
        if not change:
            return  # made by create_with_service
        data = form.cleaned_data
        # Status, role and number go through the services, which may record them for a second
        # officer instead of applying them; the other fields are plain facts about the member.
        services_by_field = {
            "member_number": lambda: services.membership_change_member_number(
                membership=obj, member_number=data["member_number"], by=request.user
            ),
            "role": lambda: services.membership_change_role(membership=obj, role=data["role"], by=request.user),
            "status": lambda: services.membership_change_status(
                membership=obj, status=data["status"], by=request.user, reason=data.get("exit_reason", "")
            ),
        }
        request.pending_changes = []
        for name, service in services_by_field.items():
            if name in form.changed_data:
                result = service()
                if (
                    isinstance(result, MembershipChangeRequest)
                    and result.status == MembershipChangeRequest.Status.PENDING
                ):
                    request.pending_changes.append(result)
        details = {name: data[name] for name in details_changed(form)}
        if details:
            services.membership_update_details(membership=obj, by=request.user, **details)

    def response_change(self, request, obj):
        pending = getattr(request, "pending_changes", [])
        if not pending:
            return super().response_change(request, obj)
        for change in pending:
            self.message_user(
                request,
                f"{change.summary}: this waits for a second officer, who approves it under "
                "Membership changes. Nothing changes until then.",
                messages.WARNING,
            )
        return redirect("admin:groups_membership_change", obj.pk)

    def _change_status(self, request, queryset, status, done):
        # As run_service_per_row, but a chairperson's suspension or exit is only asked for, not done.
        allowed = self.rows_for_action(request, queryset)
        skipped, count = queryset.count() - allowed.count(), 0
        for row in allowed:
            try:
                result = services.membership_change_status(membership=row, status=status, by=request.user)
            except (ValidationError, authority.Refused) as exc:
                self.message_user(request, f"{row}: {' '.join(exc.messages)}", messages.ERROR)
                continue
            if isinstance(result, MembershipChangeRequest):
                self.message_user(
                    request,
                    f"{result.summary}: not done yet, this waits for a second officer (Membership changes).",
                    messages.WARNING,
                )
            else:
                count += 1
        if count:
            self.message_user(request, done.format(count=count), messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} row(s) skipped: your role in their chama does not allow it.", messages.WARNING
            )

    @admin.action(description="Suspend selected members", permissions=["change"])
    def suspend(self, request, queryset):
        self._change_status(request, queryset, MembershipStatus.SUSPENDED, "{count} member(s) suspended.")

    @admin.action(description="Reinstate selected members (active again)", permissions=["change"])
    def reinstate(self, request, queryset):
        self._change_status(request, queryset, MembershipStatus.ACTIVE, "{count} member(s) reinstated.")

    @admin.action(description="Mark selected members as exited", permissions=["change"])
    def mark_exited(self, request, queryset):
        self._change_status(request, queryset, MembershipStatus.EXITED, "{count} member(s) marked as exited.")

    def get_urls(self):
        return [
            self.guarded_path("import/", self.import_view, "groups_membership_import", "manage_members"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Upload a CSV or Excel list; every row is checked and either all are imported or none."""
        if not self.has_add_permission(request):
            messages.error(request, "Your role does not allow adding members.")
            return redirect("admin:groups_membership_changelist")
        report = None
        form = MemberImportForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                report = importing.import_members(
                    chama=form.cleaned_data["chama"], by=request.user, uploaded=form.cleaned_data["file"]
                )
            except ValidationError as exc:
                form.add_error("file", exc)
            else:
                chama = form.cleaned_data["chama"]
                if report.imported:
                    messages.success(request, f"{len(report.imported)} member(s) imported into {chama}.")
                if report.invited:
                    messages.info(
                        request,
                        f"{len(report.invited)} person(s) already registered were invited rather than "
                        f"added: they join {chama} when they accept (see Invitations).",
                    )
                if report.imported or report.invited:
                    return redirect("admin:groups_membership_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import members",
            "form": form,
            "report": report,
            "columns": importing.COLUMNS,
        }
        return TemplateResponse(request, "admin/groups/membership/import.html", context)


@admin.register(MembershipChangeRequest)
class MembershipChangeRequestAdmin(ChamaScopedAdmin):
    """Changes waiting for a second officer, and every member number change; read-only, decided by
    the actions (by an officer other than the one who asked and the member concerned)."""

    list_display = [
        "summary",
        "chama",
        "status",
        "reason",
        "requested_by",
        "created_date",
        "decided_by",
        "decided_date",
    ]
    list_filter = ["chama", "status", "kind"]
    search_fields = [
        "membership__member_number",
        "membership__user__first_name",
        "membership__user__last_name",
        "previous_value",
        "requested_value",
    ]
    list_select_related = ["membership__user", "chama", "requested_by", "decided_by"]
    readonly_fields = [
        "chama",
        "membership",
        "kind",
        "previous_value",
        "requested_value",
        "reason",
        "status",
        "requested_by",
        "created_date",
        "decided_by",
        "decided_date",
        "rejection_reason",
    ]
    actions = ["approve", "reject"]
    authority_actions = {"approve": "approve_member_change", "reject": "approve_member_change"}

    def has_add_permission(self, request):
        return False  # made by the membership services

    def has_change_permission(self, request, obj=None):
        # The change permission is what deciding needs; the page itself stays read-only.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # the record of who asked and who signed

    @admin.display(description="Change")
    def summary(self, obj):
        return obj.summary

    @admin.action(description="Approve selected changes (as the second officer)", permissions=["change"])
    def approve(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=MembershipChangeRequest.Status.PENDING),
            lambda row: services.membership_change_approve(change=row, by=request.user),
            "{count} change(s) approved.",
        )

    @admin.action(description="Reject selected changes", permissions=["change"])
    def reject(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=MembershipChangeRequest.Status.PENDING),
            lambda row: services.membership_change_reject(change=row, by=request.user),
            "{count} change(s) rejected.",
        )


@admin.register(JoinRequest)
class JoinRequestAdmin(ChamaScopedAdmin):
    list_display = ["user", "chama", "status", "created_date", "decided_by", "decided_date"]
    list_filter = ["chama", "status"]
    search_fields = ["user__first_name", "user__last_name", "user__phone_number"]
    list_select_related = ["user", "chama", "decided_by"]
    readonly_fields = [
        "chama",
        "user",
        "message",
        "status",
        "decided_by",
        "decided_date",
        "decline_reason",
        "created_date",
    ]
    actions = ["approve", "decline"]
    authority_actions = {"approve": "manage_members", "decline": "manage_members"}

    def has_add_permission(self, request):
        return False  # people ask to join through the app

    @admin.action(description="Approve selected requests (admit as members)", permissions=["change"])
    def approve(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=JoinRequest.Status.PENDING),
            lambda row: services.join_request_approve(join_request=row, by=request.user),
            "{count} request(s) approved.",
        )

    @admin.action(description="Decline selected requests", permissions=["change"])
    def decline(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=JoinRequest.Status.PENDING),
            lambda row: services.join_request_decline(join_request=row, by=request.user),
            "{count} request(s) declined.",
        )


class InvitationForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["chama", "phone_number", "email", "first_name", "last_name", "role", "member_number"]


@admin.register(Invitation)
class InvitationAdmin(CreatedByServiceMixin, ChamaScopedAdmin):
    form = InvitationForm
    list_display = ["recipient", "chama", "role", "status", "expires_date", "invited_by", "accept_link"]
    list_filter = ["chama", "status", "role"]
    search_fields = ["phone_number", "email", "first_name", "last_name"]
    list_select_related = ["chama", "invited_by"]
    actions = ["revoke"]
    authority_actions = {"revoke": "manage_members"}

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "chama",
            "phone_number",
            "email",
            "first_name",
            "last_name",
            "role",
            "member_number",
            "status",
            "token",
            "expires_date",
            "invited_by",
            "accepted_by",
            "accepted_date",
            "created_date",
        ]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) or InvitationForm.Meta.fields

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description="Invited")
    def recipient(self, obj):
        name = f"{obj.first_name} {obj.last_name}".strip()
        return " · ".join(filter(None, [name, str(obj.phone_number or ""), obj.email]))

    @admin.display(description="Token to share")
    def accept_link(self, obj):
        if obj.status != Invitation.Status.PENDING or obj.is_expired:
            return "—"
        return format_html("<code>{}</code>", obj.token)

    def create_with_service(self, request, form):
        data = form.cleaned_data
        return services.invitation_create(
            chama=data["chama"],
            by=request.user,
            phone_number=data["phone_number"],
            email=data["email"],
            role=data["role"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            member_number=data["member_number"],
        )

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            f"Send this token to the invitee; they accept it at {request.build_absolute_uri(reverse('invitation-accept'))}: "
            f"{obj.token}",
            messages.INFO,
        )
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Revoke selected invitations", permissions=["add"])
    def revoke(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=Invitation.Status.PENDING),
            lambda row: services.invitation_revoke(invitation=row, by=request.user),
            "{count} invitation(s) revoked.",
            action="add",
        )


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyScopedAdmin):
    """Failed and locked logins of the chama's members, money actions refused, spent tokens used
    again: read only, for the chairperson (and platform staff, who also see logins for nobody known)."""

    list_display = ["created_date", "kind", "chama", "user", "login", "ip_address", "detail"]
    list_filter = ["kind", "chama"]
    list_select_related = ["chama", "user"]
    search_fields = ["login", "user__first_name", "user__last_name", "ip_address", "detail"]
    date_hierarchy = "created_date"
