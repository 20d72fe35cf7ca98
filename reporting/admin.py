"""The back office's financial statements: a row per chama whose books the officer reads, with its
statements for this year to date as PDF, Excel or CSV, and a page of every member's statement for
a period of the officer's choosing; the month-end snapshots; and the reports built in the
background ("Generated reports": ask for one, watch it being built, download it)."""

import copy
from datetime import date

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from chama import downloads
from chama.admin_scoping import ReadOnlyScopedAdmin, scope_for_user
from finance.admin.books import ServiceCreatedAdmin
from finance.models import SavingsCycle
from reporting import catalogue, generation, statements
from reporting.models import FinancialStatement, GeneratedReport, MonthlySnapshot

FORMATS = ["pdf", "xlsx", "csv"]


def _links(url):
    """PDF · XLSX · CSV links to a report route (which takes the back-office session)."""
    joiner = "&" if "?" in url else "?"
    return format_html_join(" · ", '<a href="{}">{}</a>', ((f"{url}{joiner}format={f}", f.upper()) for f in FORMATS))


def _report_column(route, description, dated):
    """A list column of links to one report of the row's chama: on today (`as_of`), for this year
    to date (`period`), or as it stands (None)."""

    @admin.display(description=description)
    def column(policy):
        chama = policy.chama
        start, end = statements.year_bounds(chama.today())
        query = {"as_of": f"?as_of={end}", "period": f"?start={start}&end={end}", None: ""}[dated]
        return _links(f"/api/v1/chamas/{chama.pk}/reports/{route}/{query}")

    column.__name__ = route.replace("-", "_")
    return column


REPORT_COLUMNS = [
    _report_column("trial-balance", "Trial balance (today)", "as_of"),
    _report_column("balance-sheet", "Balance sheet (today)", "as_of"),
    _report_column("income-statement", "Income statement (this year)", "period"),
    _report_column("cash-book", "Cash book (this year)", "period"),
    _report_column("members-funds", "Members' funds (today)", "as_of"),
    _report_column("compliance", "Contribution compliance", None),
    _report_column("loan-portfolio", "Loan portfolio (today)", "as_of"),
    _report_column("attendance", "Attendance (this year)", "period"),
    _report_column("welfare", "Welfare fund (this year)", "period"),
]


def _day(text, default):
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


@admin.register(FinancialStatement)
class FinancialStatementAdmin(ReadOnlyScopedAdmin):
    list_display = ["chama", *REPORT_COLUMNS, "share_out", "members"]
    list_display_links = None
    list_select_related = ["chama"]
    search_fields = ["chama__name"]

    def get_queryset(self, request):
        last_closed = SavingsCycle.objects.filter(chama=OuterRef("chama"), status=SavingsCycle.Status.CLOSED)
        return (
            super()
            .get_queryset(request)
            .annotate(last_closed_cycle=Subquery(last_closed.order_by("-id").values("pk")[:1]))
        )

    @admin.display(description="Share-out (last closed cycle)")
    def share_out(self, policy):
        if policy.last_closed_cycle is None:
            return "—"
        return _links(f"/api/v1/chamas/{policy.chama_id}/reports/share-out/{policy.last_closed_cycle}/")

    def get_urls(self):
        return [
            self.guarded_path(
                "<int:pk>/members/", self.members_view, "reporting_financialstatement_members", "view_books"
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Members' statements")
    def members(self, policy):
        url = reverse("admin:reporting_financialstatement_members", args=[policy.pk])
        return format_html('<a href="{}">Every member</a>', url)

    def members_view(self, request, pk):
        """Every member's statement for a period (this year to today unless chosen)."""
        chama = get_object_or_404(self.get_queryset(request).select_related("chama"), pk=pk).chama
        start, end = statements.year_bounds(chama.today())
        start, end = _day(request.GET.get("start"), start), _day(request.GET.get("end"), end)
        rows = [
            (
                membership,
                _links(f"/api/v1/chamas/{chama.pk}/members/{membership.pk}/statement/?start={start}&end={end}"),
            )
            for membership in chama.memberships.select_related("user").order_by("member_number")
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{chama}: members' statements",
            "chama": chama,
            "start": start,
            "end": end,
            "rows": rows,
        }
        return TemplateResponse(request, "admin/reporting/financialstatement/members.html", context)


@admin.register(MonthlySnapshot)
class MonthlySnapshotAdmin(ReadOnlyScopedAdmin):
    """Each chama's month-end figures (`take_snapshots`): read only."""

    list_display = ["chama", "month", "members", "savings", "shares", "loans_outstanding", "cash", "income", "expenses"]
    list_filter = ["chama"]
    date_hierarchy = "month"


class GeneratedReportForm(forms.ModelForm):
    """What to build; the fields a report does not take are ignored (see the help)."""

    report = forms.ChoiceField(choices=[(report.name, report.title) for report in catalogue.REPORTS.values()])
    as_of = forms.DateField(
        required=False, help_text="The day (balance sheet, members' funds, loan portfolio); blank: today."
    )
    start = forms.DateField(required=False, help_text="The period's first day; blank: 1 January.")
    end = forms.DateField(required=False, help_text="The period's last day; blank: today.")
    channel = forms.ChoiceField(
        choices=[("", "Cash"), ("bank", "Bank"), ("mpesa", "M-Pesa")], required=False, help_text="The cash book's."
    )
    cycle = forms.ModelChoiceField(
        queryset=SavingsCycle.objects.filter(status=SavingsCycle.Status.CLOSED),
        required=False,
        help_text="The closed savings cycle (share-out).",
    )

    class Meta:
        model = GeneratedReport
        fields = ["chama", "report", "format", "membership", "as_of", "start", "end", "channel", "cycle"]
        help_texts = {"membership": "The member (a member's statement)."}

    def validate_unique(self):
        pass  # the service creates the row

    def _post_clean(self):
        pass  # the service checks the parameters against the report and the chama


@admin.register(GeneratedReport)
class GeneratedReportAdmin(ServiceCreatedAdmin):
    """Reports built in the background (the task worker, or `manage.py build_report --pending`) and
    kept for download until they expire; each download is counted."""

    form = GeneratedReportForm
    refusals_on_form = True
    list_display = [
        "id",
        "title",
        "chama",
        "format",
        "status",
        "progress_shown",
        "requested_by",
        "created_date",
        "size_shown",
        "expires_date",
        "download_count",
        "download",
    ]
    list_filter = ["chama", "report", "status", "format"]
    list_select_related = ["chama", "requested_by"]
    search_fields = ["report", "requested_by__first_name", "requested_by__last_name"]
    date_hierarchy = "created_date"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "cycle" in form.base_fields:
            # The declared field is shared by every form class made from this one: scope a copy.
            cycle = form.base_fields["cycle"] = copy.deepcopy(form.base_fields["cycle"])
            cycle.queryset = scope_for_user(cycle.queryset, request.user)
        return form

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "download"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False  # files go when they expire (`expire_reports`); the request stays as a record

    def create_with_service(self, request, form):
        data = form.cleaned_data
        parameters = {name: data.get(name) for name in ("as_of", "start", "end", "channel", "membership", "cycle")}
        row = generation.request_report(
            chama=data["chama"], report=data["report"], format=data["format"], parameters=parameters, by=request.user
        )
        messages.info(request, "The report is being built; this list shows when it is ready to download.")
        return row

    @admin.display(description="Report", ordering="report")
    def title(self, row):
        return catalogue.title_of(row.report)

    @admin.display(description="Built", ordering="progress")
    def progress_shown(self, row):
        return f"{row.progress}%"

    @admin.display(description="Size", ordering="size")
    def size_shown(self, row):
        return filesizeformat(row.size) if row.size is not None else "—"

    @admin.display(description="Download")
    def download(self, row):
        if row.status != GeneratedReport.Status.READY or row.expires_date <= timezone.now():
            return "—"
        return format_html('<a href="{}">{}</a>', downloads.url_for(row, "file"), row.format.upper())
