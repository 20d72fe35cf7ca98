"""Savings cycles and their share-out through the API."""

from rest_framework import serializers

from chama.api.fields import DateField, IdRelatedField, MoneyField
from finance.api.serializers import METHODS, AwaitingSignatureMixin, ChamaScopedSerializer, chama_members
from finance.models import SavingsCycle, ShareOut, ShareOutChoice
from finance.shareout import ROUNDING_UNITS
from groups.models import Membership


class SavingsCycleSerializer(serializers.ModelSerializer):
    rounding_unit = serializers.DecimalField(max_digits=4, decimal_places=2, read_only=True)

    class Meta:
        model = SavingsCycle
        fields = [
            "id",
            "name",
            "share_price",
            "shares_min_per_meeting",
            "shares_max_per_meeting",
            "start_date",
            "planned_end_date",
            "status",
            "rounding_unit",
            "remainder_to",
            "previous",
            "closed_date",
        ]
        read_only_fields = fields


class SavingsCycleCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    start_date = DateField()
    planned_end_date = DateField()
    share_price = MoneyField(required=False, help_text="Default: the policy's share price.")
    shares_min_per_meeting = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    shares_max_per_meeting = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    rounding_unit = serializers.ChoiceField(
        choices=[str(unit) for unit in ROUNDING_UNITS], default="1", help_text="Payouts are rounded down to this."
    )
    remainder_to = serializers.ChoiceField(choices=SavingsCycle.Remainder.choices, default="next_cycle")

    def validate_rounding_unit(self, value):
        return next(unit for unit in ROUNDING_UNITS if str(unit) == value)


class ChoiceSerializer(ChamaScopedSerializer):
    scoped_fields = {"membership": chama_members}

    choice = serializers.ChoiceField(choices=ShareOutChoice.Choice.choices)
    membership = IdRelatedField(
        queryset=Membership.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Officers: the member to choose for (default: yourself).",
    )


class ShareOutRequestSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=METHODS, help_text="How the payouts are paid.")
    value_date = DateField(required=False, allow_null=True, default=None, help_text="The share-out's date (today).")
    next_cycle_name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text="Open this cycle at the close."
    )
    next_planned_end_date = DateField(required=False, allow_null=True, default=None)


class MemberExitSerializer(ChamaScopedSerializer):
    scoped_fields = {"membership": chama_members}

    membership = IdRelatedField(queryset=Membership.objects.none(), help_text="The member leaving mid-cycle.")
    method = serializers.ChoiceField(choices=METHODS)
    value_date = DateField(required=False, allow_null=True, default=None)


class ShareOutSerializer(AwaitingSignatureMixin, serializers.ModelSerializer):
    member_number = serializers.CharField(source="membership.member_number", allow_null=True, default=None)
    requested_by = serializers.CharField(source="requested_by.get_full_name")
    approved_by = serializers.CharField(source="approved_by.get_full_name", allow_null=True, default=None)
    signature_action = "approve_share_out"

    class Meta:
        model = ShareOut
        fields = [
            "id",
            "cycle",
            "membership",
            "member_number",
            "method",
            "value_date",
            "status",
            "next_cycle_name",
            "next_planned_end_date",
            "fund",
            "value_per_share",
            "total_shares",
            "remainder",
            "requested_by",
            "approved_by",
            "decided_reason",
            "awaiting_signature_from",
        ]
        read_only_fields = fields


class FundSerializer(serializers.Serializer):
    interest = MoneyField()
    fines = MoneyField(help_text="Fines and loan penalties.")
    fees = MoneyField()
    other_income = MoneyField()
    expenses = MoneyField()
    losses = MoneyField()
    brought_forward = MoneyField(help_text="Carried from the last share-out, less profit paid to members who left.")


class ShareOutMemberSerializer(serializers.Serializer):
    membership = serializers.IntegerField()
    member_number = serializers.CharField()
    name = serializers.CharField()
    shares = serializers.IntegerField()
    savings = MoneyField()
    profit_share = MoneyField()
    deductions = MoneyField(help_text="Taken towards loans and fines owed.")
    net_payout = MoneyField()
    rolled_over = MoneyField(allow_null=True, help_text="Posted share-outs: what bought shares of the next cycle.")
    still_owed = MoneyField()
    choice = serializers.CharField(allow_null=True)


class PreviewSerializer(serializers.Serializer):
    """The share-out as it stands today (a running cycle) or as it was posted (a closed one).
    Members see the totals and their own line; officers every member's."""

    cycle = serializers.IntegerField()
    as_of = DateField()
    posted = serializers.BooleanField()
    fund_breakdown = FundSerializer(allow_null=True)
    fund = MoneyField()
    total_shares = serializers.IntegerField()
    value_per_share = serializers.DecimalField(max_digits=14, decimal_places=4, coerce_to_string=True)
    remainder = MoneyField()
    members = ShareOutMemberSerializer(many=True)
