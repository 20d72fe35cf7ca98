from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from chama.admin_scoping import ChamaScopedAdmin, ChamaScopedTabularInline, CreatedByServiceMixin, take_saved
from meetings import services
from meetings.models import ActionItem, AgendaItem, Attendance, Meeting, MinutesAttachment, Proposal, Resolution, Vote
from meetings.register_forms import RegisterSheet


class AgendaInline(ChamaScopedTabularInline):
    edit_action = "run_meeting"
    model = AgendaItem
    fields = ["position", "title", "notes"]


class ResolutionInline(ChamaScopedTabularInline):
    edit_action = "run_meeting"
    model = Resolution
    fields = ["text", "passed"]


class ActionItemInline(ChamaScopedTabularInline):
    edit_action = "run_meeting"
    model = ActionItem
    fields = ["description", "owner", "due_date", "status"]


class AttachmentInline(ChamaScopedTabularInline):
    edit_action = "run_meeting"
    model = MinutesAttachment
    fields = ["title", "document"]


class MeetingForm(forms.ModelForm):
    link = forms.URLField(required=False, assume_scheme="https", help_text="For online and hybrid meetings.")

    # The meeting's rules (a link for online meetings, not held before it starts) are the services';
    # their refusal comes back beside the field (MeetingAdmin.refusals_on_form).

    class Meta:
        model = Meeting
        fields = ["chama", "title", "kind", "format", "location", "link", "starts_at", "ends_at", "status", "minutes"]


@admin.register(Meeting)
class MeetingAdmin(ChamaScopedAdmin):
    edit_action = "run_meeting"
    """Meetings with their agenda, minutes, resolutions and action items; the register is one page."""

    form = MeetingForm
    list_display = ["title", "chama", "kind", "format", "starts_at", "status", "present"]
    list_filter = ["chama", "kind", "status", "format"]
    search_fields = ["title", "location"]
    date_hierarchy = "starts_at"
    list_select_related = ["chama"]
    inlines = [AgendaInline, ResolutionInline, ActionItemInline, AttachmentInline]
    actions = ["mark_cancelled", "mark_postponed"]
    authority_actions = {"mark_cancelled": "run_meeting", "mark_postponed": "run_meeting"}
    change_form_template = "admin/meetings/meeting/change_form.html"
    refusals_on_form = True

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(present_count=Count("attendance", filter=Q(attendance__status__in=Attendance.ATTENDED)))
        )

    @admin.display(description="Present", ordering="present_count")
    def present(self, obj):
        return obj.present_count

    def get_readonly_fields(self, request, obj=None):
        return ["chama"] if obj is not None else []  # a meeting stays in its chama

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            changed = {name: data[name] for name in form.changed_data if name in services.MEETING_DETAILS}
            if changed:
                services.meeting_update(meeting=obj, by=request.user, **changed)
            return
        fields = {name: data[name] for name in MeetingForm.Meta.fields if name in data}
        take_saved(obj, services.meeting_create(by=request.user, **fields))

    def save_formset(self, request, form, formset, change):
        # The minutes' rows (agenda, resolutions, action items, attachments) are kept by their service.
        rows = formset.save(commit=False)
        services.meeting_records_save(
            meeting=form.instance, by=request.user, saved=rows, deleted=formset.deleted_objects
        )
        formset.save_m2m()

    def _status(self, request, queryset, status, done):
        self.run_service_per_row(
            request, queryset, lambda m: services.meeting_set_status(meeting=m, status=status, by=request.user), done
        )

    @admin.action(description="Cancel selected meetings", permissions=["change"])
    def mark_cancelled(self, request, queryset):
        self._status(request, queryset, Meeting.Status.CANCELLED, "{count} meeting(s) cancelled.")

    @admin.action(description="Postpone selected meetings", permissions=["change"])
    def mark_postponed(self, request, queryset):
        self._status(request, queryset, Meeting.Status.POSTPONED, "{count} meeting(s) postponed.")

    def get_urls(self):
        return [
            self.guarded_path(
                "<int:pk>/register/", self.register_view, "meetings_meeting_register", "run_meeting", read="view_books"
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        meeting = self.get_object(request, object_id)
        extra = {"quorum": services.quorum(meeting) if meeting else None}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def register_view(self, request, pk):
        """Every active member's attendance on one page (a form per member), saved together."""
        meeting = get_object_or_404(self.get_queryset(request).select_related("chama__policy"), pk=pk)
        may_edit = self.may(request, "run_meeting", meeting)
        register = RegisterSheet(meeting, request.POST if request.method == "POST" else None, editable=may_edit)
        if request.method == "POST" and may_edit and register.save(request.user):
            messages.success(request, f"Register of {meeting} saved.")
            self._warn_of_fines_to_review(request, meeting)
            return redirect("admin:meetings_meeting_change", pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Register — {meeting}",
            "meeting": meeting,
            "register": register,
            "lines": register.lines,
            "errors": register.errors,
            "may_edit": may_edit,
            "quorum": services.quorum(meeting),
        }
        return TemplateResponse(request, "admin/meetings/register.html", context)

    def _warn_of_fines_to_review(self, request, meeting):
        review = services.fines_to_review(meeting)
        if review:
            links = format_html_join(
                ", ",
                '<a href="{}">{} ({})</a>',
                (
                    (
                        reverse("admin:finance_due_change", args=[due.pk]),
                        due.membership.user.get_full_name(),
                        f"{due.amount:,.2f}",
                    )
                    for due in review
                ),
            )
            messages.warning(
                request,
                format_html(
                    "Fined at this meeting but no longer marked so in the register: {}. "
                    "If the register is right, waive these fines from their pages.",
                    links,
                ),
            )


class ProposalForm(forms.ModelForm):
    class Meta:
        model = Proposal
        fields = ["chama", "title", "description", "kind", "opens_at", "closes_at"]


@admin.register(Proposal)
class ProposalAdmin(CreatedByServiceMixin, ChamaScopedAdmin):
    edit_action = "run_meeting"
    form = ProposalForm
    list_display = [
        "title",
        "chama",
        "kind",
        "status",
        "opens_at",
        "closes_at",
        "live_yes",
        "live_no",
        "live_abstain",
        "eligible_count",
        "result",
    ]
    list_filter = ["chama", "status", "kind", "result"]
    search_fields = ["title"]
    actions = ["close_now"]
    authority_actions = {"close_now": "run_meeting"}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                yes=Count("votes", filter=Q(votes__choice=Vote.Choice.YES)),
                no=Count("votes", filter=Q(votes__choice=Vote.Choice.NO)),
                abstain=Count("votes", filter=Q(votes__choice=Vote.Choice.ABSTAIN)),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        return (
            []
            if obj is None
            else [
                "chama",
                "kind",
                "opens_at",
                "closes_at",
                "status",
                "pass_threshold",
                "quorum_percentage",
                "eligible_count",
                "yes_count",
                "no_count",
                "abstain_count",
                "result",
            ]
        )

    def get_fields(self, request, obj=None):
        return (
            ProposalForm.Meta.fields
            if obj is None
            else ["title", "description", *self.get_readonly_fields(request, obj)]
        )

    @admin.display(description="Yes", ordering="yes")
    def live_yes(self, obj):
        return obj.yes

    @admin.display(description="No", ordering="no")
    def live_no(self, obj):
        return obj.no

    @admin.display(description="Abstain", ordering="abstain")
    def live_abstain(self, obj):
        return obj.abstain

    def create_with_service(self, request, form):
        return services.proposal_create(by=request.user, **form.cleaned_data)

    @admin.action(description="Close voting now on selected proposals", permissions=["change"])
    def close_now(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=Proposal.Status.OPEN),
            lambda p: services.proposal_close(proposal=p),
            "{count} proposal(s) closed.",
        )
