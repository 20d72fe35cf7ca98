"""The back office's financial statements: a row per chama whose books the officer reads, with its
statements for this year to date as PDF, Excel or CSV, and a page of every member's statement for
a period of the officer's choosing."""

from datetime import date

from django.contrib import admin
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from chama.admin_scoping import ChamaScopedAdmin
from reporting import statements
from reporting.models import FinancialStatement, MonthlySnapshot

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
    _report_column("balance-sheet", "Balance sheet (today)", "as_of"),
    _report_column("income-statement", "Income statement (this year)", "period"),
    _report_column("cash-book", "Cash book (this year)", "period"),
    _report_column("members-funds", "Members' funds (today)", "as_of"),
    _report_column("compliance", "Contribution compliance", None),
    _report_column("loan-portfolio", "Loan portfolio (today)", "as_of"),
]


def _day(text, default):
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


@admin.register(FinancialStatement)
class FinancialStatementAdmin(ChamaScopedAdmin):
    list_display = ["chama", *REPORT_COLUMNS, "members"]
    list_display_links = None
    list_select_related = ["chama"]
    search_fields = ["chama__name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

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
class MonthlySnapshotAdmin(ChamaScopedAdmin):
    """Each chama's month-end figures (`take_snapshots`): read only."""

    list_display = ["chama", "month", "members", "savings", "shares", "loans_outstanding", "cash", "income", "expenses"]
    list_filter = ["chama"]
    date_hierarchy = "month"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
