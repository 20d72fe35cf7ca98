from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chama.api.fields import DateField, IdRelatedField, MoneyField
from finance.models import (
    Account,
    BackdatingApproval,
    Due,
    Entry,
    Expense,
    Income,
    Journal,
    MpesaReceipt,
    PaidThrough,
    RoscaBid,
    RoscaCycle,
    RoscaExit,
    RoscaPayout,
    RosterChange,
    SavingsType,
    Waiver,
    Withdrawal,
)
from groups import signatures
from groups.models import Membership

METHODS = PaidThrough.choices
# Chama-level accounts a member may see on their own journals (not cash or income lines).
PUBLIC_FUNDS = {Account.Purpose.WELFARE_FUND, Account.Purpose.ROSCA_POT}


class ChamaScopedSerializer(serializers.Serializer):
    """Related ids are looked up in the route's chama only: another chama's id is simply unknown."""

    scoped_fields = {}  # field name → function(chama) returning the queryset

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        chama = self.context.get("chama")
        for name, queryset in self.scoped_fields.items():
            if name in self.fields:
                field = self.fields[name]
                field.queryset = queryset(chama) if chama else field.queryset.none()


def chama_members(chama):
    return Membership.objects.filter(chama=chama).select_related("user", "chama")


class AccountSerializer(serializers.ModelSerializer):
    balance = MoneyField(source="normal_balance", read_only=True, help_text="As you read it: what you hold or owe.")
    savings_type = serializers.CharField(source="savings_type.name", default=None, allow_null=True, read_only=True)

    class Meta:
        model = Account
        fields = ["id", "code", "name", "type", "purpose", "savings_type", "balance"]


class StatementLineSerializer(serializers.ModelSerializer):
    value_date = DateField(source="journal.value_date")
    kind = serializers.CharField(source="journal.kind")
    memo = serializers.CharField(source="journal.memo")
    reference = serializers.CharField(source="journal.external_reference")
    journal = serializers.IntegerField(source="journal_id")
    amount = serializers.SerializerMethodField(help_text="Positive when it adds to the balance as you read it.")
    balance = serializers.SerializerMethodField(help_text="The balance after this line.")

    class Meta:
        model = Entry
        fields = ["id", "journal", "value_date", "created_date", "kind", "memo", "reference", "amount", "balance"]

    def _normal(self, entry, value):
        return f"{(value if entry.account.debit_normal else -value):.2f}"

    def get_amount(self, entry) -> str:
        return self._normal(entry, entry.amount)

    def get_balance(self, entry) -> str:
        return self._normal(entry, entry.balance_after)


class DueSerializer(serializers.ModelSerializer):
    outstanding = MoneyField(read_only=True)
    member_number = serializers.CharField(source="membership.member_number", read_only=True)

    class Meta:
        model = Due
        fields = [
            "id",
            "member_number",
            "kind",
            "description",
            "period_label",
            "due_date",
            "amount",
            "paid_amount",
            "waived_amount",
            "outstanding",
            "status",
        ]
        read_only_fields = ["amount", "paid_amount", "waived_amount"]


class PaymentSerializer(ChamaScopedSerializer):
    scoped_fields = {"membership": chama_members}

    membership = IdRelatedField(queryset=Membership.objects.none(), help_text="The member's membership id.")
    amount = MoneyField()
    method = serializers.ChoiceField(choices=METHODS)
    reference = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="M-Pesa receipt, bank slip or cheque number.",
    )
    value_date = DateField(required=False)
    memo = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    apply_to = serializers.ChoiceField(
        choices=["all", "contributions", "fines"],
        default="all",
        help_text="Which dues the money settles, oldest first.",
    )


class DepositSerializer(ChamaScopedSerializer):
    scoped_fields = {"membership": chama_members, "savings_type": lambda chama: SavingsType.objects.filter(chama=chama)}

    membership = IdRelatedField(queryset=Membership.objects.none())
    amount = MoneyField()
    method = serializers.ChoiceField(choices=METHODS)
    savings_type = IdRelatedField(queryset=SavingsType.objects.none(), required=False, allow_null=True, default=None)
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class SharePurchaseSerializer(ChamaScopedSerializer):
    scoped_fields = {"membership": chama_members}

    membership = IdRelatedField(queryset=Membership.objects.none())
    shares = serializers.IntegerField(min_value=1, max_value=1000)
    method = serializers.ChoiceField(choices=METHODS)
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class EntrySerializer(serializers.ModelSerializer):
    account_code = serializers.CharField(source="account.code")
    account_name = serializers.CharField(source="account.name")
    amount = MoneyField(read_only=True, help_text="Debit positive, credit negative.")

    class Meta:
        model = Entry
        fields = ["account", "account_code", "account_name", "amount"]


class JournalBaseSerializer(serializers.ModelSerializer):
    """What every view of a journal shows: what moved, when, and what reversed it."""

    reversed_by = serializers.IntegerField(source="reversed_by.pk", default=None, allow_null=True)

    class Meta:
        model = Journal
        fields = [
            "id",
            "kind",
            "value_date",
            "created_date",
            "memo",
            "amount",
            "external_reference",
            "reversal_of",
            "reversed_by",
        ]
        read_only_fields = ["amount"]


class JournalSerializer(JournalBaseSerializer):
    member_number = serializers.CharField(
        source="membership.member_number",
        default=None,
        allow_null=True,
        help_text="Null for the chama's own journals (expenses, income).",
    )
    created_by = serializers.CharField(source="created_by.get_full_name", default=None, allow_null=True)
    entries = EntrySerializer(many=True, read_only=True)

    class Meta(JournalBaseSerializer.Meta):
        fields = [
            *JournalBaseSerializer.Meta.fields,
            "member_number",
            "created_by",
            "entries",
        ]


def _entries(journal) -> list:
    """The journal's entries, as `selectors.ledger.member_journals` read them or else from the database."""
    entries = getattr(journal, "entry_list", None)
    return journal.entries.all() if entries is None else entries


class MyJournalSerializer(JournalBaseSerializer):
    lines = serializers.SerializerMethodField(help_text="Where the money went: your accounts and the chama's funds.")

    class Meta(JournalBaseSerializer.Meta):
        fields = [*JournalBaseSerializer.Meta.fields, "lines"]

    def get_lines(self, journal) -> list[dict]:
        return [
            {
                "account": entry.account.name,
                "amount": f"{(-entry.amount if not entry.account.debit_normal else entry.amount):.2f}",
            }
            for entry in _entries(journal)
            if entry.account.membership_id or entry.account.purpose in PUBLIC_FUNDS
        ]


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class WaiveSerializer(serializers.Serializer):
    amount = MoneyField(required=False, help_text="Default: all that is still owed.")
    reason = serializers.CharField(max_length=200)


class AwaitingSignatureMixin(serializers.Serializer):
    """Who may still sign a pending item (names, for the app to show): not whoever asked or signed.
    Shown on a single item only (null in lists), since finding the signers takes a few queries."""

    signature_action = ""
    waiting_status = "pending"
    awaiting_signature_from = serializers.SerializerMethodField()

    def signed_by(self, row):
        return [getattr(row, "requested_by_id", None) or getattr(row, "recorded_by_id", None)]

    def get_awaiting_signature_from(self, row) -> list[str] | None:
        if isinstance(self.parent, serializers.ListSerializer):
            return None
        if row.status != self.waiting_status:
            return []
        return signatures.signer_names(row, self.signature_action, exclude=self.signed_by(row))


class WaiverSerializer(AwaitingSignatureMixin, serializers.ModelSerializer):
    signature_action = "approve_waiver"

    requested_by = serializers.CharField(source="requested_by.get_full_name")
    approved_by = serializers.CharField(source="approved_by.get_full_name", default=None, allow_null=True)

    class Meta:
        model = Waiver
        fields = [
            "id",
            "due",
            "amount",
            "reason",
            "status",
            "requested_by",
            "approved_by",
            "awaiting_signature_from",
            "decided_date",
            "journal",
        ]
        read_only_fields = ["amount"]


class CashbookSerializer(ChamaScopedSerializer, AwaitingSignatureMixin, serializers.ModelSerializer):
    """Up to the chama's threshold a record is posted at once; above it, it waits (status
    `pending`) until a second officer approves it through `…/approve/` with their own login."""

    signature_action = "approve_expense"

    amount = MoneyField()
    value_date = DateField(required=False)
    recorded_by = serializers.CharField(source="recorded_by.get_full_name", read_only=True)
    approved_by = serializers.CharField(
        source="approved_by.get_full_name", default=None, allow_null=True, read_only=True
    )

    class Meta:
        read_only_fields = ["id", "status", "recorded_by", "approved_by", "decided_reason", "journal"]


class ExpenseSerializer(CashbookSerializer):
    scoped_fields = {"payee": chama_members}

    payee = IdRelatedField(
        queryset=Membership.objects.none(),
        required=False,
        allow_null=True,
        help_text="The membership paid, when the money went to a member.",
    )

    class Meta(CashbookSerializer.Meta):
        model = Expense
        fields = [
            "id",
            "category",
            "amount",
            "description",
            "paid_through",
            "payee",
            "value_date",
            "receipt",
            "status",
            "recorded_by",
            "approved_by",
            "awaiting_signature_from",
            "decided_reason",
            "journal",
        ]


class IncomeSerializer(CashbookSerializer):
    class Meta(CashbookSerializer.Meta):
        model = Income
        fields = [
            "id",
            "category",
            "amount",
            "description",
            "received_through",
            "value_date",
            "receipt",
            "status",
            "recorded_by",
            "approved_by",
            "awaiting_signature_from",
            "decided_reason",
            "journal",
        ]


class WithdrawalSerializer(ChamaScopedSerializer, AwaitingSignatureMixin, serializers.ModelSerializer):
    signature_action = "approve_withdrawal"
    waiting_status = "requested"
    scoped_fields = {"membership": chama_members, "savings_type": lambda chama: SavingsType.objects.filter(chama=chama)}

    amount = MoneyField()
    membership = IdRelatedField(
        queryset=Membership.objects.none(),
        required=False,
        help_text="Officers asking for a member; members ask for themselves.",
    )
    savings_type = IdRelatedField(queryset=SavingsType.objects.none(), required=False, allow_null=True)
    approvals = serializers.SerializerMethodField()

    class Meta:
        model = Withdrawal
        fields = [
            "id",
            "membership",
            "savings_type",
            "amount",
            "reason",
            "status",
            "payable_from",
            "approvals",
            "awaiting_signature_from",
            "decided_reason",
            "journal",
            "created_date",
        ]
        read_only_fields = ["id", "status", "payable_from", "approvals", "decided_reason", "journal", "created_date"]

    def get_approvals(self, withdrawal) -> list[str]:
        return [user.get_full_name() for user in withdrawal.approvals.all()]

    def signed_by(self, withdrawal):
        return [withdrawal.requested_by_id, *(user.pk for user in withdrawal.approvals.all())]


class PayWithdrawalSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=METHODS)
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class StkPushSerializer(serializers.Serializer):
    amount = MoneyField(help_text="Whole shillings. The prompt goes to your registered phone number, never another.")


class BackdatingApprovalSerializer(AwaitingSignatureMixin, serializers.ModelSerializer):
    """The chairperson asks (`earliest_date`, `reason`); a second officer approves or rejects. While
    `in_force`, money may be dated back to `earliest_date`."""

    signature_action = "approve_backdating"

    earliest_date = DateField(help_text="The earliest value date to allow.")
    requested_by = serializers.CharField(source="requested_by.get_full_name", read_only=True)
    decided_by = serializers.CharField(source="decided_by.get_full_name", default=None, read_only=True)
    in_force = serializers.BooleanField(read_only=True)

    class Meta:
        model = BackdatingApproval
        fields = [
            "id",
            "earliest_date",
            "reason",
            "status",
            "in_force",
            "requested_by",
            "awaiting_signature_from",
            "decided_by",
            "decided_date",
            "expires_date",
            "rejection_reason",
            "created_date",
        ]
        read_only_fields = ["id", "status", "decided_date", "expires_date", "rejection_reason", "created_date"]


class MemberAccountSerializer(AccountSerializer):
    """A member's account as officers see it: whose it is, and its balance."""

    membership = serializers.IntegerField(
        source="membership_id",
        read_only=True,
        allow_null=True,
        help_text="The member's membership id; null for the chama's own accounts.",
    )
    member_number = serializers.CharField(
        source="membership.member_number", default=None, allow_null=True, read_only=True
    )

    class Meta(AccountSerializer.Meta):
        fields = [*AccountSerializer.Meta.fields, "membership", "member_number"]


class SavingsTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = SavingsType
        fields = ["id", "name", "code", "minimum_balance", "withdrawal_notice_days", "locked_until", "is_default"]
        read_only_fields = fields


class MpesaReceiptSerializer(serializers.ModelSerializer):
    membership = serializers.IntegerField(source="membership_id", read_only=True, allow_null=True)
    member_number = serializers.CharField(
        source="membership.member_number", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = MpesaReceipt
        fields = [
            "id",
            "source",
            "receipt_number",
            "amount",
            "phone_number",
            "account_reference",
            "payer_name",
            "transaction_time",
            "status",
            "membership",
            "member_number",
            "journal",
            "assignment_journal",
            "created_date",
        ]
        read_only_fields = fields


class SuspenseAssignSerializer(ChamaScopedSerializer):
    scoped_fields = {"membership": chama_members}

    membership = IdRelatedField(queryset=Membership.objects.none(), help_text="The member the money came from.")


# --- merry-go-rounds -----------------------------------------------------------------------------


class RosterSlotSerializer(serializers.Serializer):
    """A round of `selectors.rosca.rosca_rounds`."""

    position = serializers.IntegerField(help_text="The round in which this member receives the pot.")
    membership = serializers.IntegerField(source="recipient.pk")
    member_number = serializers.CharField(source="recipient.member_number")
    name = serializers.CharField(source="recipient.user.get_full_name")
    round_date = DateField(source="date", help_text="The round's date.")
    payout_status = serializers.CharField(
        source="payout.status", default=None, allow_null=True, help_text="pending, paid, or null: not paid out yet."
    )


class RoscaCycleSerializer(serializers.ModelSerializer):
    """A merry-go-round cycle; `my_position` and `my_round_date` are the caller's own (null when
    they are not on the roster, or it is not set yet), `next_round` the next round to pay out."""

    rounds = serializers.SerializerMethodField()
    pot = MoneyField(source="pot_per_round", read_only=True, help_text="What each round's recipient receives.")
    my_position = serializers.SerializerMethodField()
    my_round_date = serializers.SerializerMethodField()
    next_round = serializers.SerializerMethodField()

    class Meta:
        model = RoscaCycle
        fields = [
            "id",
            "name",
            "contribution",
            "frequency",
            "start_date",
            "status",
            "roster_method",
            "payout_rule",
            "bidding",
            "discount_to",
            "draw_seed",
            "started_at",
            "rounds",
            "pot",
            "my_position",
            "my_round_date",
            "next_round",
        ]
        read_only_fields = fields

    def _mine(self, cycle):
        membership_id = self.context.get("membership_id")
        return next((slot for slot in cycle.slots.all() if slot.membership_id == membership_id), None)

    def get_rounds(self, cycle) -> int:
        return len(cycle.slots.all())

    def get_my_position(self, cycle) -> int | None:
        mine = self._mine(cycle)
        return mine.position if mine else None

    def get_my_round_date(self, cycle) -> str | None:
        mine = self._mine(cycle)
        return cycle.round_date(mine.position).isoformat() if mine else None

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "position": {"type": "integer"},
                "date": {"type": "string", "format": "date"},
                "member_number": {"type": "string"},
                "name": {"type": "string"},
            },
        }
    )
    def get_next_round(self, cycle):
        if cycle.status != RoscaCycle.Status.ACTIVE:
            return None
        paid = {payout.slot_id for payout in cycle.payouts.all() if payout.status == RoscaPayout.Status.PAID}
        slot = next((slot for slot in cycle.slots.all() if slot.pk not in paid), None)
        if slot is None:
            return None
        return {
            "position": slot.position,
            "date": cycle.round_date(slot.position).isoformat(),
            "member_number": slot.membership.member_number,
            "name": slot.membership.user.get_full_name(),
        }


class RoscaCycleCreateSerializer(serializers.ModelSerializer):
    contribution = MoneyField()
    start_date = DateField()

    class Meta:
        model = RoscaCycle
        fields = [
            "name",
            "contribution",
            "frequency",
            "start_date",
            "roster_method",
            "payout_rule",
            "bidding",
            "discount_to",
        ]


class DrawSerializer(serializers.Serializer):
    seed = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="Read out at the meeting; random if blank.",
    )


class RosterOrderSerializer(serializers.Serializer):
    membership_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="Every active member's membership id, first recipient first."
    )


class PayRoundSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1, help_text="The round to pay out.")
    method = serializers.ChoiceField(choices=METHODS)
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    value_date = DateField(required=False, allow_null=True, default=None, help_text="When it was paid (default today).")


class RoscaPayoutSerializer(serializers.ModelSerializer):
    position = serializers.IntegerField(source="slot.position")
    member_number = serializers.CharField(source="membership.member_number")
    recorded_by = serializers.CharField(source="recorded_by.get_full_name")
    approved_by = serializers.CharField(source="approved_by.get_full_name", default=None, allow_null=True)

    class Meta:
        model = RoscaPayout
        fields = [
            "id",
            "cycle",
            "position",
            "membership",
            "member_number",
            "amount",
            "shortfall",
            "discount",
            "method",
            "reference",
            "value_date",
            "status",
            "journal",
            "recorded_by",
            "approved_by",
            "decided_reason",
            "top_up_of",
            "created_date",
        ]
        read_only_fields = fields


class RosterChangeSerializer(serializers.ModelSerializer):
    member_number = serializers.CharField(source="membership.member_number")
    other_member_number = serializers.CharField(source="other.member_number", default=None, allow_null=True)

    class Meta:
        model = RosterChange
        fields = [
            "id",
            "cycle",
            "kind",
            "membership",
            "member_number",
            "other",
            "other_member_number",
            "status",
            "decided_reason",
            "created_date",
        ]
        read_only_fields = fields


class RosterChangeRequestSerializer(serializers.Serializer):
    cycle = serializers.IntegerField(help_text="The running cycle's id.")
    kind = serializers.ChoiceField(choices=RosterChange.Kind.choices)
    other = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Swaps: the other member's membership id."
    )


class ConsentSerializer(serializers.Serializer):
    agree = serializers.BooleanField(help_text="true to agree to the swap, false to decline it.")


class RoscaExitSerializer(AwaitingSignatureMixin, serializers.ModelSerializer):
    signature_action = "approve_rosca_payout"

    member_number = serializers.CharField(source="membership.member_number")
    recorded_by = serializers.CharField(source="recorded_by.get_full_name")
    approved_by = serializers.CharField(source="approved_by.get_full_name", default=None, allow_null=True)

    class Meta:
        model = RoscaExit
        fields = [
            "id",
            "cycle",
            "membership",
            "member_number",
            "kind",
            "status",
            "position",
            "amount",
            "refunded",
            "reason",
            "recorded_by",
            "approved_by",
            "decided_reason",
            "awaiting_signature_from",
            "created_date",
        ]
        read_only_fields = fields


class RoscaExitRequestSerializer(ChamaScopedSerializer):
    scoped_fields = {"membership": chama_members}

    membership = IdRelatedField(queryset=Membership.objects.none(), help_text="The member leaving the cycle.")
    reason = serializers.CharField(max_length=255)


class RefundSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=METHODS)
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class BidSerializer(serializers.Serializer):
    discount = MoneyField(help_text="The discount on the pot you accept to receive the next round (0 or more).")


class RoscaBidSerializer(serializers.ModelSerializer):
    member_number = serializers.CharField(source="membership.member_number")

    class Meta:
        model = RoscaBid
        fields = ["id", "cycle", "position", "membership", "member_number", "discount", "updated_date"]
        read_only_fields = fields


class RecoverSerializer(ChamaScopedSerializer):
    scoped_fields = {"membership": chama_members}

    membership = IdRelatedField(queryset=Membership.objects.none(), help_text="The member late after receiving.")
