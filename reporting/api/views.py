"""Reports through the API: the financial statements (officers), a member's summary and the
chama's group summary. Every statement answers JSON, or a file with `?format=csv`, `xlsx` or `pdf`;
any report of the catalogue may also be asked for to be built in the background and downloaded later
(`generated-reports/`)."""

from datetime import date

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from chama import authority, downloads
from chama.api.viewsets import ChamaNestedViewSet
from finance.api.views.common import OwnRows
from finance.models import Account, SavingsCycle
from groups.models import Membership
from reporting import catalogue, generation, registers, statements, summaries
from reporting.api.renderers import CSVRenderer, PDFRenderer, XLSXRenderer
from reporting.models import GeneratedReport
from reporting.tables import Table


class ReportTableSerializer(serializers.Serializer):
    """A report: its title, columns, rows (money as strings) and totals, and the notes saying the
    period and what it ties to."""

    title = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(child=serializers.JSONField()))
    totals = serializers.ListField(child=serializers.JSONField(), allow_null=True)
    notes = serializers.ListField(child=serializers.CharField())


# JSON by default; the same report as a file with ?format=csv or ?format=xlsx.
TABLE = {
    (200, "application/json"): ReportTableSerializer,
    (200, CSVRenderer.media_type): OpenApiTypes.BINARY,
    (200, XLSXRenderer.media_type): OpenApiTypes.BINARY,
    (200, PDFRenderer.media_type): OpenApiTypes.BINARY,
}
FORMAT = OpenApiParameter(
    "format", str, enum=["json", "csv", "xlsx", "pdf"], description="json (default), csv, xlsx or pdf."
)


def answer(request, table: Table) -> Response:
    """The report as JSON, or the `Table` itself for the file renderers (`?format=`)."""
    if getattr(request.accepted_renderer, "format", "json") == "json":
        return Response(table.as_dict())
    return Response(table)


def period(request, chama) -> dict[str, date]:
    """`start` and `end` from the query (default: this year to today): the catalogue's rule."""
    return catalogue.period(chama, request.query_params)


def report(request, chama, name: str) -> Response:
    """Report `name` of the catalogue, its parameters read from the query (a bad one is a 400
    naming it), as JSON or a file."""
    return answer(request, catalogue.build_one(name, chama, request.query_params))


class ReportViewSet(ChamaNestedViewSet):
    """The chama's financial statements from the ledger alone (officers who read the books)."""

    queryset = Account.objects.all()
    pagination_class = None
    renderer_classes = [JSONRenderer, CSVRenderer, XLSXRenderer, PDFRenderer]
    action_rules = {
        "trial_balance": "view_books",
        "balance_sheet": "view_books",
        "income_statement": "view_books",
        "cash_book": "view_books",
        "members_funds": "view_books",
        "compliance": "view_books",
        "loan_portfolio": "view_books",
        "attendance": "view_books",
        "welfare": "view_books",
    }

    @extend_schema(parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE), FORMAT], responses=TABLE)
    @action(detail=False, methods=["get"], url_path="trial-balance")
    def trial_balance(self, request, *args, **kwargs):
        """Every account's debit or credit on a day (`as_of`, default today); the totals are equal."""
        return report(request, self.chama, "trial-balance")

    @extend_schema(parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE), FORMAT], responses=TABLE)
    @action(detail=False, methods=["get"], url_path="balance-sheet")
    def balance_sheet(self, request, *args, **kwargs):
        """Assets, liabilities and equity on a day (`as_of`, default today)."""
        return report(request, self.chama, "balance-sheet")

    @extend_schema(
        parameters=[OpenApiParameter("start", OpenApiTypes.DATE), OpenApiParameter("end", OpenApiTypes.DATE), FORMAT],
        responses=TABLE,
    )
    @action(detail=False, methods=["get"], url_path="income-statement")
    def income_statement(self, request, *args, **kwargs):
        """Income and expenses of a period (default: this year to today)."""
        return report(request, self.chama, "income-statement")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "channel", str, enum=list(statements.CHANNELS), description="cash (default), bank or mpesa."
            ),
            OpenApiParameter("start", OpenApiTypes.DATE),
            OpenApiParameter("end", OpenApiTypes.DATE),
            FORMAT,
        ],
        responses=TABLE,
    )
    @action(detail=False, methods=["get"], url_path="cash-book")
    def cash_book(self, request, *args, **kwargs):
        """One channel's opening balance, every movement and its closing balance for a period."""
        return report(request, self.chama, "cash-book")

    @extend_schema(parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE), FORMAT], responses=TABLE)
    @action(detail=False, methods=["get"], url_path="members-funds")
    def members_funds(self, request, *args, **kwargs):
        """Each member's savings, shares, advances, fines owed and loans on a day."""
        return report(request, self.chama, "members-funds")

    @extend_schema(parameters=[FORMAT], responses=TABLE)
    @action(detail=False, methods=["get"])
    def compliance(self, request, *args, **kwargs):
        """Members × the last twelve contribution periods: what each paid of what each owed."""
        return report(request, self.chama, "compliance")

    @extend_schema(parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE), FORMAT], responses=TABLE)
    @action(detail=False, methods=["get"], url_path="loan-portfolio")
    def loan_portfolio(self, request, *args, **kwargs):
        """Outstanding principal by days in arrears, and PAR30 / 60 / 90 (`as_of`, default today)."""
        return report(request, self.chama, "loan-portfolio")

    @extend_schema(
        parameters=[OpenApiParameter("start", OpenApiTypes.DATE), OpenApiParameter("end", OpenApiTypes.DATE), FORMAT],
        responses=TABLE,
    )
    @action(detail=False, methods=["get"])
    def attendance(self, request, *args, **kwargs):
        """Members × the meetings held in a period: each one's attendance, and the percentages."""
        return report(request, self.chama, "attendance")

    @extend_schema(
        parameters=[OpenApiParameter("start", OpenApiTypes.DATE), OpenApiParameter("end", OpenApiTypes.DATE), FORMAT],
        responses=TABLE,
    )
    @action(detail=False, methods=["get"])
    def welfare(self, request, *args, **kwargs):
        """The welfare fund in a period: opening, contributions, claims paid, closing; claims by status."""
        return report(request, self.chama, "welfare")


class ShareOutReportViewSet(ChamaNestedViewSet):
    """A closed savings cycle's share-out, member by member, tied to the cash it paid (officers who
    read the books), as JSON or a file."""

    queryset = SavingsCycle.objects.all()
    renderer_classes = ReportViewSet.renderer_classes
    action_rules = {"retrieve": "view_books"}

    @extend_schema(parameters=[FORMAT], responses=TABLE)
    def retrieve(self, request, *args, **kwargs):
        cycle = self.get_object()
        if cycle.status != SavingsCycle.Status.CLOSED:
            raise ValidationError({"cycle": "This cycle has not been shared out yet."})
        return answer(request, registers.share_out(cycle=cycle))


class MoneyString(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=14, decimal_places=2, coerce_to_string=True, **kwargs)


class LoanLineSerializer(serializers.Serializer):
    loan = serializers.IntegerField()
    outstanding_principal = MoneyString()
    next_due_date = serializers.DateField(allow_null=True)
    next_amount = MoneyString(allow_null=True)


class WelfareStandingSerializer(serializers.Serializer):
    behind = MoneyString()
    claims_open = serializers.IntegerField()
    claims_paid = serializers.IntegerField()


class MemberSummarySerializer(serializers.Serializer):
    membership = serializers.IntegerField()
    member_number = serializers.CharField()
    name = serializers.CharField()
    savings = MoneyString()
    shares = serializers.IntegerField()
    shares_value = MoneyString()
    advance = MoneyString()
    fines_owed = MoneyString()
    contributions_owed = MoneyString(help_text="Contributions and levies not paid yet.")
    overdue = MoneyString(help_text="Of what is owed, what is late.")
    loans = LoanLineSerializer(many=True)
    may_borrow_now = MoneyString(help_text="The most any active loan product lends you today.")
    attendance_percentage = serializers.DecimalField(
        max_digits=5, decimal_places=2, coerce_to_string=True, allow_null=True, help_text="None before any meeting."
    )
    welfare = WelfareStandingSerializer()


class GroupSummarySerializer(serializers.Serializer):
    members = serializers.IntegerField()
    savings = MoneyString()
    shares_value = MoneyString()
    loans_outstanding = MoneyString()
    welfare_fund = MoneyString()


class MyStatementViewSet(OwnRows, ChamaNestedViewSet):
    """Your statement: every movement on your accounts in a period (default this year to today),
    as JSON or a file (`?format=csv|xlsx|pdf`)."""

    queryset = Membership.objects.all()
    pagination_class = None
    answers_one_object = True
    renderer_classes = ReportViewSet.renderer_classes
    action_rules = {"list": None}

    @extend_schema(
        parameters=[OpenApiParameter("start", OpenApiTypes.DATE), OpenApiParameter("end", OpenApiTypes.DATE), FORMAT],
        responses=TABLE,
    )
    def list(self, request, *args, **kwargs):
        return answer(
            request, statements.member_statement(membership=self.my_membership(), **period(request, self.chama))
        )


class MySummaryViewSet(OwnRows, ChamaNestedViewSet):
    """Your savings, shares, loans, what you owe, attendance, what you may borrow and your welfare standing."""

    queryset = Membership.objects.all()
    pagination_class = None
    answers_one_object = True
    action_rules = {"list": None}

    @extend_schema(responses=MemberSummarySerializer)
    def list(self, request, *args, **kwargs):
        return Response(MemberSummarySerializer(summaries.member_summary(membership=self.my_membership())).data)


class MemberSummaryViewSet(ChamaNestedViewSet):
    """A member's summary, for the officers who read the books."""

    queryset = Membership.objects.select_related("user", "chama__policy")
    action_rules = {"summary": "view_books", "statement": "view_books"}

    @extend_schema(responses=MemberSummarySerializer)
    @action(detail=True, methods=["get"])
    def summary(self, request, *args, **kwargs):
        return Response(MemberSummarySerializer(summaries.member_summary(membership=self.get_object())).data)

    @extend_schema(
        parameters=[OpenApiParameter("start", OpenApiTypes.DATE), OpenApiParameter("end", OpenApiTypes.DATE), FORMAT],
        responses=TABLE,
    )
    @action(detail=True, methods=["get"], renderer_classes=ReportViewSet.renderer_classes)
    def statement(self, request, *args, **kwargs):
        """A member's statement for a period, as JSON or a file."""
        membership = self.get_object()
        return answer(request, statements.member_statement(membership=membership, **period(request, self.chama)))


class GroupSummaryViewSet(ChamaNestedViewSet):
    """The chama's totals every member may see: members, savings, shares, loans out, the welfare fund."""

    queryset = Membership.objects.all()
    pagination_class = None
    answers_one_object = True
    action_rules = {"list": None}

    @extend_schema(responses=GroupSummarySerializer)
    def list(self, request, *args, **kwargs):
        return Response(GroupSummarySerializer(summaries.group_summary(chama=self.chama)).data)


class GeneratedReportSerializer(serializers.ModelSerializer):
    title = serializers.SerializerMethodField()
    requested_by = serializers.CharField(source="requested_by.get_full_name", read_only=True)
    download_url = serializers.SerializerMethodField(help_text="Where to download it once ready, until it expires.")

    class Meta:
        model = GeneratedReport
        fields = [
            "id",
            "report",
            "title",
            "format",
            "parameters",
            "membership",
            "requested_by",
            "status",
            "progress",
            "size",
            "error",
            "created_date",
            "finished_date",
            "expires_date",
            "download_count",
            "download_url",
        ]
        read_only_fields = fields

    def get_title(self, row) -> str:
        return catalogue.title_of(row.report)

    def get_download_url(self, row) -> str | None:
        if row.status != GeneratedReport.Status.READY or row.expires_date <= timezone.now():
            return None
        return downloads.url_for(row, "file")


class ReportRequestSerializer(serializers.Serializer):
    """What to build: the report, its format and the parameters it takes (see each report)."""

    report = serializers.ChoiceField(choices=list(catalogue.REPORTS))
    format = serializers.ChoiceField(choices=GeneratedReport.Format.choices, default="pdf")
    as_of = serializers.DateField(required=False, help_text="The day (balance sheet, members' funds, loan portfolio).")
    start = serializers.DateField(required=False, help_text="The period's first day (default 1 January).")
    end = serializers.DateField(required=False, help_text="The period's last day (default today).")
    channel = serializers.ChoiceField(choices=list(statements.CHANNELS), required=False, help_text="The cash book's.")
    membership = serializers.IntegerField(required=False, help_text="The member (member-statement).")
    cycle = serializers.IntegerField(required=False, help_text="The closed savings cycle (share-out).")


class GeneratedReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Reports built in the background and kept for download for a while: ask with POST (202), follow
    its status and progress, download it from `download_url` once ready. Officers who read the books
    see every one of the chama's; a member, those they asked for."""

    queryset = GeneratedReport.objects.select_related("requested_by")
    serializer_class = GeneratedReportSerializer
    filterset_fields = ["report", "status", "format"]
    action_rules = {"list": None, "retrieve": None, "create": None}

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False) or authority.may(
            self.request.user, "view_books", chama=self.chama
        ):
            return queryset
        return queryset.filter(requested_by=self.request.user)

    @extend_schema(request=ReportRequestSerializer, responses={202: GeneratedReportSerializer})
    def create(self, request, *args, **kwargs):
        asked = ReportRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        values = dict(asked.validated_data)
        report, format = values.pop("report"), values.pop("format")
        row = generation.request_report(
            chama=self.chama, report=report, format=format, parameters=values, by=request.user
        )
        return Response(GeneratedReportSerializer(row, context=self.get_serializer_context()).data, status=202)
