from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from chama import authority
from chama.admin_paging import CappedCountPaginator
from chama.admin_scoping import ChamaScopedAdmin, ChamaScopedTabularInline, add_refusal, scope_for_user
from chama.forms import DateFormField
from finance.admin.collection_sheet import CollectionSheet
from finance.admin.forms import PaymentForm, ReasonForm
from finance.models import Account, Entry, Journal
from finance.services import dues, reversals, value_dates
from groups import selectors as register
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
    search_fields = [
        "code",
        "name",
        "membership__member_number",
        "membership__user__first_name",
        "membership__user__last_name",
    ]
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

    list_display = [
        "id",
        "value_date",
        "chama",
        "kind",
        "memo",
        "amount",
        "member",
        "external_reference",
        "reversal_state",
    ]
    list_filter = ["chama", "kind"]
    search_fields = ["external_reference"]  # enables the search box; get_search_results does the work
    search_help_text = "A journal number, a reference (M-Pesa receipt, slip) or a member number."
    list_select_related = ["chama", "membership"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    inlines = [EntryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("reversals")  # the Reversed column

    readonly_fields = [
        "chama",
        "kind",
        "value_date",
        "memo",
        "amount",
        "membership",
        "external_reference",
        "idempotency_key",
        "created_by",
        "created_date",
        "reversal_of",
        "reversal_state",
    ]
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
        reversal = obj.reversed_by
        if reversal is not None:
            return format_html(
                'by <a href="{}">#{}</a>', reverse("admin:finance_journal_change", args=[reversal.pk]), reversal.pk
            )
        return ""

    def may_post(self, request):
        return authority.chama_ids_for(request.user, "record_payment") != set()

    def get_urls(self):
        return [
            self.guarded_path(
                "record-payment/", self.record_payment_view, "finance_journal_record_payment", "record_payment"
            ),
            self.guarded_path(
                "collection-sheet/", self.collection_sheet_view, "finance_journal_collection_sheet", "record_payment"
            ),
            self.guarded_path("<int:pk>/reverse/", self.reverse_view, "finance_journal_reverse", "reverse_journal"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "may_post": self.may_post(request)})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "may_post": self.may_post(request)}
        )

    def _page(self, request, template, title, **context):
        return TemplateResponse(
            request, template, {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **context}
        )

    def reverse_view(self, request, pk):
        journal = get_object_or_404(self.get_queryset(request).select_related("chama", "membership"), pk=pk)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                reversal = reversals.journal_reverse(
                    journal=journal, reason=form.cleaned_data["reason"], by=request.user
                )
            except (ValidationError, authority.Refused) as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, f"Journal #{journal.pk} reversed by #{reversal.pk}.")
                return redirect("admin:finance_journal_change", reversal.pk)
        return self._page(
            request, "admin/finance/form_page.html", f"Reverse journal #{journal.pk}", form=form, subject=journal
        )

    def record_payment_view(self, request):
        form = PaymentForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                journal = dues.payment_record(
                    membership=data["membership"],
                    amount=data["amount"],
                    method=data["method"],
                    by=request.user,
                    value_date=data["value_date"],
                    reference=data["reference"],
                    memo=data["memo"],
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
        chamas = register.chamas_where(user=request.user, action="record_payment")
        picker = SheetPicker(request.GET or None, chamas=chamas)
        if not picker.is_valid():
            return self._page(request, "admin/finance/collection_sheet.html", "Meeting collection sheet", picker=picker)
        chama, day = (
            picker.cleaned_data["chama"],
            picker.cleaned_data["date"] or picker.cleaned_data["chama"].today(),
        )
        problem = value_dates.problem(chama, day)
        if problem:  # every row would be refused for it: say it once
            picker.add_error("date", problem)
            return self._page(request, "admin/finance/collection_sheet.html", "Meeting collection sheet", picker=picker)
        sheet = CollectionSheet(chama, day, request.POST if request.method == "POST" else None)
        if request.method == "POST" and sheet.save(request.user):
            messages.success(request, f"Collections of {day:%d %b %Y} saved: {sheet.summary()}.")
            return redirect(f"{reverse('admin:finance_journal_changelist')}?chama__id__exact={chama.pk}")
        return self._page(
            request,
            "admin/finance/collection_sheet.html",
            f"Collection sheet — {chama}, {day:%d %b %Y}",
            picker=picker,
            sheet=sheet,
            chama=chama,
            day=day,
        )


class SheetPicker(forms.Form):
    chama = forms.ModelChoiceField(queryset=None)
    date = DateFormField(required=False, help_text="The meeting day (default today).")

    def __init__(self, *args, chamas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chama"].queryset = chamas
