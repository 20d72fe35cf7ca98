from rest_framework import serializers

from chama.api.fields import DateField, IdRelatedField, MoneyField
from finance.api.serializers import METHODS, ChamaScopedSerializer, chama_members
from groups.models import Membership
from welfare.models import Benefit, Claim, ClaimDocument, Event, WelfareScheme
from welfare.services import eligibility


class BenefitSerializer(serializers.ModelSerializer):
    amount = MoneyField()

    class Meta:
        model = Benefit
        fields = ["event", "kind", "amount"]


class SchemeSerializer(serializers.ModelSerializer):
    benefits = BenefitSerializer(many=True)
    levy_per_event = MoneyField(required=False)

    class Meta:
        model = WelfareScheme
        fields = [
            "id",
            "name",
            "waiting_days",
            "max_claims_per_year",
            "dependants",
            "levy_per_event",
            "shortfall",
            "approvals_required",
            "members_see_paid_claims",
            "announcement",
            "is_active",
            "benefits",
        ]
        read_only_fields = ["id", "is_active"]


class DocumentSerializer(serializers.ModelSerializer):
    url = serializers.FileField(source="document", read_only=True, help_text="Download (the claimant and officers).")

    class Meta:
        model = ClaimDocument
        fields = ["id", "title", "url", "created_date"]


class DocumentUploadSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=150)
    document = serializers.FileField(help_text="PDF, JPEG or PNG.")


class RuleSerializer(serializers.Serializer):
    name = serializers.CharField()
    passed = serializers.BooleanField()
    reason = serializers.CharField()


class ClaimSerializer(serializers.ModelSerializer):
    """A claim; its documents and eligibility show to the claimant and the officers only, and the
    eligibility on a single claim (not in lists)."""

    member_number = serializers.CharField(source="membership.member_number")
    member_name = serializers.CharField(source="membership.user.get_full_name")
    approvals = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField()
    eligibility = serializers.SerializerMethodField()

    class Meta:
        model = Claim
        fields = [
            "id",
            "scheme",
            "membership",
            "member_number",
            "member_name",
            "event",
            "event_date",
            "beneficiary",
            "amount_requested",
            "amount_approved",
            "amount_paid",
            "status",
            "decided_reason",
            "approvals",
            "documents",
            "eligibility",
            "created_date",
        ]
        read_only_fields = fields

    def _close(self, claim):
        return self.context.get("everyone") or claim.membership_id == self.context.get("membership_id")

    def get_approvals(self, claim) -> int:
        return sum(1 for decision in claim.decisions.all() if decision.kind == "approve")

    def get_documents(self, claim) -> list[dict] | None:
        if not self._close(claim):
            return None
        return DocumentSerializer(claim.documents.all(), many=True, context=self.context).data

    def get_eligibility(self, claim) -> list[dict] | None:
        if isinstance(self.parent, serializers.ListSerializer) or not self._close(claim):
            return None
        return RuleSerializer(eligibility(claim), many=True).data


def open_schemes(chama):
    return WelfareScheme.objects.filter(chama=chama, is_active=True)


class ClaimCreateSerializer(ChamaScopedSerializer):
    scoped_fields = {"scheme": open_schemes, "membership": chama_members}

    scheme = IdRelatedField(queryset=WelfareScheme.objects.none())
    membership = IdRelatedField(
        queryset=Membership.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Officers: the member the claim is for (default: yourself).",
    )
    event = serializers.ChoiceField(choices=Event.choices)
    event_date = DateField()
    beneficiary = serializers.CharField(max_length=150)
    amount_requested = MoneyField()
    description = serializers.CharField(required=False, allow_blank=True, default="")
    document = serializers.FileField(required=False, help_text="A supporting document (PDF, JPEG or PNG).")
    document_title = serializers.CharField(max_length=150, required=False, default="Supporting document")


class DecisionCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class PaySerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=METHODS)
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class FundMovementSerializer(serializers.Serializer):
    journal = serializers.IntegerField()
    date = DateField()
    kind = serializers.CharField()
    memo = serializers.CharField()
    amount_in = MoneyField(allow_null=True, help_text="Contributions and levies in.")
    amount_out = MoneyField(allow_null=True, help_text="Claims paid out.")
    balance = MoneyField(help_text="The fund after this movement.")


class BehindSerializer(serializers.Serializer):
    membership = serializers.IntegerField(source="membership.pk")
    member_number = serializers.CharField(source="membership.member_number")
    name = serializers.CharField(source="membership.user.get_full_name")
    owed = MoneyField()


class WelfareFundSerializer(serializers.Serializer):
    balance = MoneyField()
    history = FundMovementSerializer(many=True, help_text="The latest 100 movements, newest first.")
    members_behind = BehindSerializer(many=True, allow_null=True, help_text="Officers: who is late on welfare dues.")
