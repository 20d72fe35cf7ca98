"""Welfare in the back office: schemes and their benefits, the claims queue with each claim's
eligibility, documents and decisions, and the fund's page (balance, history, members behind)."""

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from chama.admin_scoping import ChamaScopedAdmin, ChamaScopedTabularInline, CreatedByServiceMixin
from groups import selectors as register
from welfare import selectors, services
from welfare.models import Benefit, Claim, WelfareScheme

HISTORY = 50


class BenefitInline(ChamaScopedTabularInline):
    model = Benefit
    fields = ["event", "kind", "amount"]


@admin.register(WelfareScheme)
class WelfareSchemeAdmin(ChamaScopedAdmin):
    edit_action = "manage_welfare"
    list_display = ["name", "chama", "approvals_required", "levy_per_event", "shortfall", "is_active"]
    list_filter = ["chama", "is_active"]
    search_fields = ["name"]
    inlines = [BenefitInline]


class ClaimForm(forms.ModelForm):
    class Meta:
        model = Claim
        fields = [
            "chama",
            "scheme",
            "membership",
            "event",
            "event_date",
            "beneficiary",
            "amount_requested",
            "description",
        ]

    def validate_unique(self):
        pass  # the service records the claim


@admin.register(Claim)
class ClaimAdmin(CreatedByServiceMixin, ChamaScopedAdmin):
    """The claims queue: officers read each claim's eligibility and documents, and review, approve
    (as many as the scheme asks, each through their own login), reject or pay it with the actions."""

    form = ClaimForm
    refusals_on_form = True
    list_display = [
        "id",
        "membership",
        "event",
        "event_date",
        "amount_requested",
        "amount_approved",
        "status",
        "approvals",
    ]
    list_filter = ["chama", "status", "event", "scheme"]
    search_fields = ["membership__member_number", "membership__user__last_name", "beneficiary"]
    list_select_related = ["membership__user", "scheme"]
    actions = ["review", "approve", "reject", "pay_cash", "pay_mpesa", "pay_bank"]
    authority_actions = {
        "review": "decide_claim",
        "approve": "decide_claim",
        "reject": "decide_claim",
        "pay_cash": "pay_claim",
        "pay_mpesa": "pay_claim",
        "pay_bank": "pay_claim",
    }

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("decisions", "documents")

    def has_change_permission(self, request, obj=None):
        # The actions need the change permission; a claim is changed only through them.
        return obj is None and admin.ModelAdmin.has_change_permission(self, request)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [field.name for field in Claim._meta.fields] + ["eligibility", "documents", "decisions_taken"]

    def get_urls(self):
        return [
            self.guarded_path("fund/", self.fund_view, "welfare_claim_fund", "view_books"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        fund = reverse("admin:welfare_claim_fund")
        return super().changelist_view(request, {**(extra_context or {}), "fund_url": fund})

    def create_with_service(self, request, form):
        data = dict(form.cleaned_data)
        data.pop("chama", None)
        return services.claim_submit(by=request.user, **data)

    @admin.display(description="Approvals")
    def approvals(self, claim):
        given = sum(1 for decision in claim.decisions.all() if decision.kind == "approve")
        return f"{given} of {claim.scheme.approvals_required}"

    @admin.display(description="Eligibility")
    def eligibility(self, claim):
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} {}</li>",
                (("✓" if rule.passed else "✗", rule.reason) for rule in services.eligibility(claim)),
            ),
        )

    @admin.display(description="Documents")
    def documents(self, claim):
        rows = [(document.document.url, document.title) for document in claim.documents.all()]
        if not rows:
            return "—"
        return format_html_join(mark_safe("<br>"), '<a href="{}">{}</a>', rows)

    @admin.display(description="Decisions")
    def decisions_taken(self, claim):
        rows = [
            (decision.officer.get_full_name(), decision.get_kind_display().lower(), decision.comment)
            for decision in claim.decisions.select_related("officer")
        ]
        return format_html_join(mark_safe("<br>"), "{}: {} {}", rows) if rows else "—"

    @admin.action(description="Take the selected claims under review", permissions=["change"])
    def review(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status__in=Claim.OPEN_STATUSES),
            lambda row: services.claim_review(claim=row, by=request.user),
            "{count} claim(s) under review.",
        )

    @admin.action(description="Approve the selected claims (your own approval)", permissions=["change"])
    def approve(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status__in=Claim.OPEN_STATUSES),
            lambda row: services.claim_approve(claim=row, by=request.user),
            "{count} approval(s) given.",
        )

    @admin.action(description="Reject the selected claims", permissions=["change"])
    def reject(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status__in=Claim.OPEN_STATUSES),
            lambda row: services.claim_reject(claim=row, by=request.user, reason="Rejected in the back office"),
            "{count} claim(s) rejected.",
        )

    def _pay(self, request, queryset, method):
        self.run_service_per_row(
            request,
            queryset.filter(status=Claim.Status.APPROVED),
            lambda row: services.claim_pay(claim=row, method=method, by=request.user),
            "{count} claim(s) paid.",
        )

    @admin.action(description="Pay the selected approved claims in cash", permissions=["change"])
    def pay_cash(self, request, queryset):
        self._pay(request, queryset, "cash")

    @admin.action(description="Pay the selected approved claims by M-Pesa", permissions=["change"])
    def pay_mpesa(self, request, queryset):
        self._pay(request, queryset, "mpesa")

    @admin.action(description="Pay the selected approved claims from the bank", permissions=["change"])
    def pay_bank(self, request, queryset):
        self._pay(request, queryset, "bank")

    def fund_view(self, request):
        """Each chama's welfare fund the officer may read: balance, history, members behind."""
        funds = [
            (chama, selectors.fund_report(chama=chama, history=HISTORY, with_arrears=True))
            for chama in register.chamas_where(user=request.user, action="view_books").order_by("name")
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Welfare fund",
            "funds": funds,
        }
        return TemplateResponse(request, "admin/welfare/claim/fund.html", context)
