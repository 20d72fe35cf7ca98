"""Merry-go-rounds in the back office: a cycle's roster (drawn or agreed), starting it, paying the
next round, and the second officer's signature on a payout above the threshold."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from chama import authority
from chama.admin_scoping import ChamaScopedAdmin, ChamaScopedTabularInline
from chama.money import shown
from finance.admin.books import ServiceCreatedAdmin
from finance.admin.ledger import ReadOnlyMixin
from finance.admin.signatures import AwaitingSignatureAdmin
from finance.models import RoscaBid, RoscaCycle, RoscaExit, RoscaPayout, RosterChange, RosterSlot
from finance.selectors.rosca import rosca_board
from finance.services import rosca, rosca_exits


class RoscaCycleForm(forms.ModelForm):
    class Meta:
        model = RoscaCycle
        fields = [
            "chama",
            "name",
            "contribution",
            "frequency",
            "start_date",
            "roster_method",
            "payout_rule",
            "bidding",
            "discount_to",
        ]

    def validate_unique(self):
        pass  # the service creates the row and says when the name is taken


class RosterInline(ReadOnlyMixin, ChamaScopedTabularInline):
    model = RosterSlot
    fields = ["position", "member", "round_date", "payout"]
    readonly_fields = fields
    verbose_name = "round"
    verbose_name_plural = "roster: who receives the pot in which round"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("membership__user", "cycle").prefetch_related("payouts")

    @admin.display(description="Receives the pot")
    def member(self, slot):
        return f"{slot.membership.member_number} {slot.membership.user.get_full_name()}"

    @admin.display(description="Date")
    def round_date(self, slot):
        return slot.cycle.round_date(slot.position)

    @admin.display(description="Payout")
    def payout(self, slot):
        taken = [p for p in slot.payouts.all() if p.status != RoscaPayout.Status.REJECTED]
        if not taken:
            return "—"
        first, *top_ups = sorted(taken, key=lambda payout: payout.pk)
        text = f"{first.get_status_display()}: {shown(first.amount)}"
        return f"{text} + top-ups {shown(sum(p.amount for p in top_ups))}" if top_ups else text


@admin.register(RoscaCycle)
class RoscaCycleAdmin(ServiceCreatedAdmin):
    edit_action = "manage_rosca"
    form = RoscaCycleForm
    list_display = ["name", "chama", "status", "contribution", "frequency", "start_date", "rounds", "board"]
    list_filter = ["chama", "status"]
    search_fields = ["name"]
    inlines = [RosterInline]
    actions = [
        "draw_roster",
        "start_cycles",
        "pay_next_cash",
        "pay_next_mpesa",
        "pay_next_bank",
        "top_up_cash",
        "recover_from_savings",
    ]
    authority_actions = {
        "top_up_cash": "pay_rosca",
        "recover_from_savings": "recover_rosca_arrears",
        "draw_roster": "manage_rosca",
        "start_cycles": "manage_rosca",
        "pay_next_cash": "pay_rosca",
        "pay_next_mpesa": "pay_rosca",
        "pay_next_bank": "pay_rosca",
    }

    def has_change_permission(self, request, obj=None):
        # The actions need the change permission; a saved cycle is changed only through them.
        return obj is None and admin.ModelAdmin.has_change_permission(self, request)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("slots")

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "board"] if obj else []

    def get_urls(self):
        return [
            self.guarded_path("<int:pk>/board/", self.board_view, "finance_roscacycle_board", "view_books"),
            *super().get_urls(),
        ]

    @admin.display(description="Board")
    def board(self, cycle):
        return format_html(
            '<a href="{}">Rounds × members</a>', reverse("admin:finance_roscacycle_board", args=[cycle.pk])
        )

    def board_view(self, request, pk):
        """Rounds × members: who paid each round, who receives it, and whether it was paid out."""
        cycle = get_object_or_404(self.get_queryset(request).select_related("chama", "plan"), pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{cycle.name}: the board",
            "cycle": cycle,
            **rosca_board(cycle=cycle),
        }
        return TemplateResponse(request, "admin/finance/roscacycle/board.html", context)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # a new cycle has no roster yet

    @admin.display(description="Rounds")
    def rounds(self, cycle):
        return len(cycle.slots.all())

    def create_with_service(self, request, form):
        return rosca.cycle_create(by=request.user, **form.cleaned_data)

    @admin.action(
        description="Draw the roster of the selected draft cycles (a new random seed)", permissions=["change"]
    )
    def draw_roster(self, request, queryset):
        self.run_service_per_row(
            request, queryset, lambda row: rosca.roster_draw(cycle=row, by=request.user), "{count} roster(s) drawn."
        )

    @admin.action(
        description="Start the selected cycles (publish the roster, raise the rounds' dues)", permissions=["change"]
    )
    def start_cycles(self, request, queryset):
        self.run_service_per_row(
            request, queryset, lambda row: rosca.cycle_start(cycle=row, by=request.user), "{count} cycle(s) started."
        )

    def _pay_next(self, request, queryset, method):
        def pay(cycle):
            position = rosca.next_position(cycle)
            if position is None:
                raise forms.ValidationError("Every round is paid out or waiting for a second officer.")
            payout = rosca.round_payout(cycle=cycle, position=position, method=method, by=request.user)
            if payout.status == RoscaPayout.Status.PENDING:
                self.message_user(
                    request,
                    f"{cycle.name}, round {position}: {shown(payout.amount)} is above the threshold and waits for "
                    "a second officer (Merry-go-round payouts).",
                    messages.WARNING,
                )

        self.run_service_per_row(request, queryset, pay, "{count} round(s) paid out or sent for a second signature.")

    @admin.action(description="Pay the next round of the selected cycles in cash", permissions=["change"])
    def pay_next_cash(self, request, queryset):
        self._pay_next(request, queryset, "cash")

    @admin.action(description="Pay the next round of the selected cycles by M-Pesa", permissions=["change"])
    def pay_next_mpesa(self, request, queryset):
        self._pay_next(request, queryset, "mpesa")

    @admin.action(description="Pay the next round of the selected cycles from the bank", permissions=["change"])
    def pay_next_bank(self, request, queryset):
        self._pay_next(request, queryset, "bank")

    @admin.action(
        description="Top up rounds paid out short with what their members paid late (cash)", permissions=["change"]
    )
    def top_up_cash(self, request, queryset):
        def top_up(cycle):
            positions = rosca.rounds_to_top_up(cycle)
            if not positions:
                raise forms.ValidationError("No round paid out short has had late contributions since.")
            for position in positions:
                rosca.round_top_up(cycle=cycle, position=position, method="cash", by=request.user)

        self.run_service_per_row(
            request, queryset, top_up, "{count} cycle(s) topped up (or sent for a second signature)."
        )

    @admin.action(
        description="Recover from their savings what members late after receiving the pot owe", permissions=["change"]
    )
    def recover_from_savings(self, request, queryset):
        def recover(cycle):
            late = [row["membership"] for row in rosca_board(cycle=cycle)["rows"] if row["late_after_receiving"]]
            if not late:
                raise forms.ValidationError("No member is late after receiving the pot.")
            for membership in late:
                try:
                    rosca.recover_round_arrears(cycle=cycle, membership=membership, by=request.user)
                except (forms.ValidationError, authority.Refused) as exc:
                    self.message_user(
                        request, f"{membership.member_number}: {' '.join(exc.messages)}", messages.WARNING
                    )

        self.run_service_per_row(
            request, queryset, recover, "Arrears recovered in {count} cycle(s) where savings allowed."
        )


@admin.register(RoscaPayout)
class RoscaPayoutAdmin(AwaitingSignatureAdmin, ReadOnlyMixin, ChamaScopedAdmin):
    signature_action = "approve_rosca_payout"
    waiting_status = RoscaPayout.Status.PENDING
    list_display = [
        "cycle",
        "position",
        "membership",
        "amount",
        "discount",
        "shortfall",
        "method",
        "value_date",
        "status",
    ]
    list_filter = ["chama", "status"]
    search_fields = ["cycle__name", "membership__member_number", "membership__user__last_name"]
    list_select_related = ["cycle", "slot", "membership__user"]
    readonly_fields = [
        "chama",
        "cycle",
        "membership",
        "amount",
        "discount",
        "shortfall",
        "top_up_of",
        "method",
        "reference",
        "value_date",
        "status",
        "awaiting_signature",
        "recorded_by",
        "approved_by",
        "decided_reason",
        "journal",
        "created_date",
    ]
    exclude = ["slot"]
    actions = ["approve", "reject"]
    authority_actions = {"approve": "approve_rosca_payout", "reject": "approve_rosca_payout"}

    def has_change_permission(self, request, obj=None):
        return obj is None and super(ReadOnlyMixin, self).has_change_permission(request, obj)

    @admin.display(description="Round", ordering="slot__position")
    def position(self, payout):
        return payout.slot.position

    @admin.action(description="Approve the selected payouts (as the second officer)", permissions=["change"])
    def approve(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=RoscaPayout.Status.PENDING),
            lambda row: rosca.payout_approve(payout=row, by=request.user),
            "{count} payout(s) approved and paid.",
        )

    @admin.action(description="Reject the selected payouts", permissions=["change"])
    def reject(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=RoscaPayout.Status.PENDING),
            lambda row: rosca.payout_reject(payout=row, by=request.user, reason="Rejected in the back office"),
            "{count} payout(s) rejected.",
        )


@admin.register(RoscaBid)
class RoscaBidAdmin(ReadOnlyMixin, ChamaScopedAdmin):
    """Sealed bids of bidding cycles, each round's highest first: the highest takes the round when
    it is paid out."""

    list_display = ["cycle", "position", "membership", "discount", "updated_date"]
    list_filter = ["chama", "cycle"]
    search_fields = ["cycle__name", "membership__member_number", "membership__user__last_name"]
    list_select_related = ["cycle", "membership__user"]


@admin.register(RosterChange)
class RosterChangeAdmin(ReadOnlyMixin, ChamaScopedAdmin):
    """Swaps and deferrals members asked for: an officer who is neither member approves or rejects."""

    list_display = ["cycle", "kind", "membership", "other", "status", "created_date"]
    list_filter = ["chama", "status", "kind"]
    search_fields = ["cycle__name", "membership__member_number", "other__member_number"]
    list_select_related = ["cycle", "membership__user", "other__user"]
    readonly_fields = ["chama", "cycle", "kind", "membership", "other", "status", "decided_by", "decided_reason"]
    actions = ["approve", "reject"]
    authority_actions = {"approve": "manage_rosca", "reject": "manage_rosca"}

    def has_change_permission(self, request, obj=None):
        return obj is None and super(ReadOnlyMixin, self).has_change_permission(request, obj)

    @admin.action(description="Approve the selected requests (the roster changes at once)", permissions=["change"])
    def approve(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=RosterChange.Status.WAITING_OFFICER),
            lambda row: rosca.change_approve(change=row, by=request.user),
            "{count} request(s) approved.",
        )

    @admin.action(description="Reject the selected requests", permissions=["change"])
    def reject(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=RosterChange.Status.WAITING_OFFICER),
            lambda row: rosca.change_reject(change=row, by=request.user, reason="Rejected in the back office"),
            "{count} request(s) rejected.",
        )


class RoscaExitForm(forms.ModelForm):
    class Meta:
        model = RoscaExit
        fields = ["chama", "cycle", "membership", "reason"]

    def validate_unique(self):
        pass  # the service records the exit and says when it is recorded already


@admin.register(RoscaExit)
class RoscaExitAdmin(AwaitingSignatureAdmin, ServiceCreatedAdmin):
    """A member leaving a running cycle: recorded here, approved by a second officer, and a member
    who left before their round paid back as the levies on those who received their money come in."""

    signature_action = "approve_rosca_payout"
    waiting_status = RoscaExit.Status.PENDING
    form = RoscaExitForm
    refusals_on_form = True
    list_display = ["cycle", "membership", "kind", "status", "amount", "refunded", "created_date"]
    list_filter = ["chama", "status", "kind"]
    search_fields = ["cycle__name", "membership__member_number", "membership__user__last_name"]
    list_select_related = ["cycle", "membership__user"]
    actions = ["approve", "reject", "refund_cash"]
    authority_actions = {
        "approve": "approve_rosca_payout",
        "reject": "approve_rosca_payout",
        "refund_cash": "settle_rosca_exit",
    }

    def has_change_permission(self, request, obj=None):
        return obj is None and admin.ModelAdmin.has_change_permission(self, request)

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "awaiting_signature"] if obj else []

    def create_with_service(self, request, form):
        data = form.cleaned_data
        return rosca_exits.exit_request(
            cycle=data["cycle"], membership=data["membership"], by=request.user, reason=data["reason"]
        )

    @admin.action(description="Approve the selected exits (as the second officer)", permissions=["change"])
    def approve(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=RoscaExit.Status.PENDING),
            lambda row: rosca_exits.exit_approve(exit=row, by=request.user),
            "{count} exit(s) approved.",
        )

    @admin.action(description="Reject the selected exits", permissions=["change"])
    def reject(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=RoscaExit.Status.PENDING),
            lambda row: rosca_exits.exit_reject(exit=row, by=request.user, reason="Rejected in the back office"),
            "{count} exit(s) rejected.",
        )

    @admin.action(description="Pay back what has come in for the selected members (cash)", permissions=["change"])
    def refund_cash(self, request, queryset):
        self.run_service_per_row(
            request,
            queryset.filter(status=RoscaExit.Status.APPROVED, kind=RoscaExit.Kind.WAITING),
            lambda row: rosca_exits.exit_refund(exit=row, method="cash", by=request.user),
            "{count} member(s) paid back.",
        )
