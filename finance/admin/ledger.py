import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from chama import authority
from chama.admin_paging import CappedCountPaginator
from chama.admin_scoping import ChamaScopedAdmin, ChamaScopedTabularInline, add_refusal, scope_for_user
from chama.forms import DateFormField
from chama.money import parse_money
from chama.roles import MembershipStatus
from finance.admin.forms import PaymentForm, ReasonForm, chamas_where
from finance.models import Account, Due, Entry, Journal, Loan
from finance.services import dues, ledger, loans, reversals, savings, value_dates
from finance.services.dues import chama_today
from groups.models import Membership


class ReadOnlyMixin:
    """Money rows are posted by services and never edited here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyMixin, ChamaScopedAdmin):
    list_display = ["code", "name", "chama", "type", "purpose", "balance_shown"]
    list_filter = ["chama", "type", "purpose"]
    search_fields = ["code", "name", "membership__member_number", "membership__user__first_name", "membership__user__last_name"]
    list_select_related = ["chama"]
    readonly_fields = ["chama", "code", "name", "type", "purpose", "membership", "savings_type", "balance_shown"]
    exclude = ["balance"]

    @admin.display(description="Balance", ordering="balance")
    def balance_shown(self, obj):
        return f"{obj.chama.currency} {obj.normal_balance:,.2f}"


class EntryInline(ReadOnlyMixin, ChamaScopedTabularInline):
    model = Entry
    fields = ["account", "debit", "credit", "balance_after"]
    readonly_fields = fields


@admin.register(Journal)
class JournalAdmin(ReadOnlyMixin, ChamaScopedAdmin):
    """The ledger: read-only, fast on millions of rows (no full count, an index per chama)."""

    list_display = ["id", "value_date", "chama", "kind", "memo", "amount", "member", "external_reference", "reversal_state"]
    list_filter = ["chama", "kind"]
    search_fields = ["external_reference"]  # enables the search box; get_search_results does the work
    search_help_text = "A journal number, a reference (M-Pesa receipt, slip) or a member number."
    list_select_related = ["chama", "membership", "reversed_by"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    inlines = [EntryInline]
    readonly_fields = ["chama", "kind", "value_date", "memo", "amount", "membership", "external_reference",
                       "idempotency_key", "created_by", "created_date", "reversal_of", "reversal_state"]
    change_form_template = "admin/finance/journal/change_form.html"
    change_list_template = "admin/finance/journal/change_list.html"

    def get_search_results(self, request, queryset, search_term):
        """Exact matches only, each served by an index: a substring or case-folded search would
        read the whole ledger."""
        term = search_term.strip()
        if not term:
            return queryset, False
        wanted = Q(external_reference=term) | Q(external_reference=term.upper())
        if term.isdigit() and len(term) < 19:
            wanted |= Q(pk=int(term))
        members = scope_for_user(Membership.objects.filter(member_number__iexact=term), request.user)
        wanted |= Q(membership__in=list(members.values_list("pk", flat=True)))
        return queryset.filter(wanted), False

    @admin.display(description="Member")
    def member(self, obj):
        return obj.membership.member_number if obj.membership else ""

    @admin.display(description="Reversed")
    def reversal_state(self, obj):
        reversal = getattr(obj, "reversed_by", None)
        if reversal is not None:
            return format_html('by <a href="{}">#{}</a>', reverse("admin:finance_journal_change", args=[reversal.pk]), reversal.pk)
        return ""

    def may_post(self, request):
        return authority.chama_ids_for(request.user, "record_payment") != set()

    def get_urls(self):
        return [
            self.guarded_path("record-payment/", self.record_payment_view, "finance_journal_record_payment", "record_payment"),
            self.guarded_path("collection-sheet/", self.collection_sheet_view, "finance_journal_collection_sheet", "record_payment"),
            self.guarded_path("<int:pk>/reverse/", self.reverse_view, "finance_journal_reverse", "reverse_journal"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "may_post": self.may_post(request)})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "may_post": self.may_post(request)})

    def _page(self, request, template, title, **context):
        return TemplateResponse(request, template, {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **context})

    def reverse_view(self, request, pk):
        journal = get_object_or_404(self.get_queryset(request).select_related("chama", "membership"), pk=pk)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                reversal = reversals.journal_reverse(journal=journal, reason=form.cleaned_data["reason"], by=request.user)
            except (ValidationError, authority.Refused) as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, f"Journal #{journal.pk} reversed by #{reversal.pk}.")
                return redirect("admin:finance_journal_change", reversal.pk)
        return self._page(request, "admin/finance/form_page.html", f"Reverse journal #{journal.pk}", form=form, subject=journal)

    def record_payment_view(self, request):
        form = PaymentForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                journal = dues.payment_record(
                    membership=data["membership"], amount=data["amount"], method=data["method"], by=request.user,
                    value_date=data["value_date"], reference=data["reference"], memo=data["memo"],
                    kinds=dues.DUE_KINDS[data["apply_to"]],
                )
            except (ValidationError, authority.Refused) as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, f"Payment of {journal.amount:,.2f} recorded as journal #{journal.pk}.")
                return redirect("admin:finance_journal_change", journal.pk)
        return self._page(request, "admin/finance/form_page.html", "Record a payment", form=form)

    def collection_sheet_view(self, request):
        """One page for a meeting's collections: every member's contribution, shares and fines,
        saved all together or not at all."""
        chamas = chamas_where(request.user, "record_payment")
        picker = SheetPicker(request.GET or None, chamas=chamas)
        if not picker.is_valid():
            return self._page(request, "admin/finance/collection_sheet.html", "Meeting collection sheet", picker=picker)
        chama, day = picker.cleaned_data["chama"], picker.cleaned_data["date"] or chama_today(picker.cleaned_data["chama"])
        problem = value_dates.problem(chama, day)
        if problem:  # every row would be refused for it: say it once
            picker.add_error("date", problem)
            return self._page(request, "admin/finance/collection_sheet.html", "Meeting collection sheet", picker=picker)
        sheet = CollectionSheet(chama, day, request.POST if request.method == "POST" else None)
        if request.method == "POST" and sheet.save(request.user):
            messages.success(request, f"Collections of {day:%d %b %Y} saved: {sheet.summary()}.")
            return redirect(f"{reverse('admin:finance_journal_changelist')}?chama__id__exact={chama.pk}")
        return self._page(request, "admin/finance/collection_sheet.html", f"Collection sheet — {chama}, {day:%d %b %Y}",
                          picker=picker, sheet=sheet, chama=chama, day=day)


class SheetPicker(forms.Form):
    chama = forms.ModelChoiceField(queryset=None)
    date = DateFormField(required=False, help_text="The meeting day (default today).")

    def __init__(self, *args, chamas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chama"].queryset = chamas


class CollectionSheet:
    """The rows of a collection sheet and their validation; `save` posts every row or none."""

    def __init__(self, chama, day, data=None):
        self.chama, self.day, self.data = chama, day, data
        self.sells_shares = chama.kind in savings.SHARE_KINDS and chama.policy.share_price > 0
        self.members = list(
            chama.memberships.filter(status=MembershipStatus.ACTIVE).select_related("user", "chama").order_by("member_number")
        )
        owed = {}
        for due in Due.objects.filter(chama=chama, status__in=Due.OPEN_STATUSES).only("membership_id", "kind", "amount", "paid_amount", "waived_amount"):
            key = (due.membership_id, "fines" if due.kind == Due.Kind.FINE else "contributions")
            owed[key] = owed.get(key, 0) + due.outstanding
        # Each member's oldest outstanding loan takes the sheet's repayment.
        self.loan_of = {}
        for loan in Loan.objects.filter(chama=chama, status__in=Loan.OUTSTANDING_STATUSES).order_by("-disbursed_date", "-id"):
            self.loan_of[loan.membership_id] = loan
        self.rows = [
            {"membership": m, "owed_contributions": owed.get((m.pk, "contributions"), 0), "owed_fines": owed.get((m.pk, "fines"), 0),
             "loan": self.loan_of.get(m.pk), "contribution": self._value("c", m), "shares": self._value("s", m),
             "fines": self._value("f", m), "repayment": self._value("r", m), "errors": []}
            for m in self.members
        ]
        for row in self.rows:
            row["payoff"] = loans.payoff_amount(row["loan"]) if row["loan"] else None  # owed as of today, whatever the day
        self.method = (data or {}).get("method", "cash")
        self.key = (data or {}).get("sheet_key") or uuid.uuid4().hex
        self.errors = []
        self.posted = []

    def _value(self, prefix, membership):
        return (self.data or {}).get(f"{prefix}-{membership.pk}", "").strip()

    @staticmethod
    def _amount(text):
        """An empty cell is nothing paid; anything else is read by the one money parser."""
        if not text:
            return Decimal(0)
        return parse_money(text, grouping=True)

    def save(self, user):
        if self.method not in ledger.METHOD_ACCOUNTS:
            self.errors.append("Pick how the money was received.")
            return False
        with transaction.atomic():
            for row in self.rows:
                self._post_row(row, user)
            if self.errors or any(row["errors"] for row in self.rows):
                transaction.set_rollback(True)
                self.posted = []
                return False
        return True

    def _post_row(self, row, user):
        membership = row["membership"]
        base_key = f"sheet-{self.key}-{membership.pk}"
        try:
            contribution, fines = self._amount(row["contribution"]), self._amount(row["fines"])
            repayment = self._amount(row["repayment"])
            shares = int(row["shares"] or 0)
            if shares < 0:
                raise ValueError
        except ValueError:
            row["errors"].append("Shares must be a whole number.")
            return
        except ValidationError as exc:
            row["errors"].extend(exc.messages)
            return
        operations = []
        if contribution:
            operations.append(lambda: dues.payment_record(
                membership=membership, amount=contribution, method=self.method, by=user, value_date=self.day,
                kinds=dues.DUE_KINDS["contributions"], idempotency_key=f"{base_key}-c", memo=f"Contribution at meeting {self.day}"))
        if shares:
            operations.append(lambda: savings.share_purchase(
                membership=membership, shares=shares, method=self.method, by=user, value_date=self.day,
                idempotency_key=f"{base_key}-s"))
        if fines:
            operations.append(lambda: dues.payment_record(
                membership=membership, amount=fines, method=self.method, by=user, value_date=self.day,
                kinds=dues.DUE_KINDS["fines"], idempotency_key=f"{base_key}-f", memo=f"Fines paid at meeting {self.day}"))
        if repayment and row["loan"] is None:
            row["errors"].append("This member has no loan to repay.")
        elif repayment:
            operations.append(lambda: loans.loan_repay(
                loan=row["loan"], amount=repayment, method=self.method, by=user, value_date=self.day,
                idempotency_key=f"{base_key}-r"))
        for operation in operations:
            try:
                with transaction.atomic():
                    self.posted.append(operation())
            except (ValidationError, authority.Refused) as exc:
                row["errors"].extend(exc.messages)

    def summary(self):
        total = sum((journal.amount for journal in self.posted), Decimal(0))
        return f"{len(self.posted)} journal(s), {self.chama.currency} {total:,.2f}"
