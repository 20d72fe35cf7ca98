from rest_framework import serializers

from chama.api.fields import DateField, IdRelatedField, MoneyField
from finance.api.serializers import ChamaScopedSerializer, chama_members
from finance.models import Collateral, Guarantee, Installment, Loan, LoanApproval, LoanProduct, PaidThrough
from groups import signatures
from groups.models import Membership


class LoanProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoanProduct
        exclude = ["chama", "created_date", "updated_date"]
        read_only_fields = ["min_amount", "max_amount"]


class QuoteSerializer(serializers.Serializer):
    principal = MoneyField()
    installments = serializers.IntegerField(min_value=1, max_value=600)
    start = DateField(required=False, help_text="Disbursement day (default today).")


class ScheduleRowSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    due_date = DateField()
    principal = MoneyField()
    interest = MoneyField()
    total = MoneyField()
    balance = MoneyField()


class RuleSerializer(serializers.Serializer):
    name = serializers.CharField()
    passed = serializers.BooleanField()
    reason = serializers.CharField()


class EligibilitySerializer(serializers.Serializer):
    eligible = serializers.BooleanField()
    max_amount = MoneyField()
    rules = RuleSerializer(many=True)


class InstallmentSerializer(serializers.ModelSerializer):
    paid = serializers.SerializerMethodField()
    outstanding = MoneyField(read_only=True)

    class Meta:
        model = Installment
        fields = ["n", "due_date", "principal", "interest", "fee", "penalty", "paid", "outstanding", "status"]
        read_only_fields = ["principal", "interest", "fee", "penalty"]

    def get_paid(self, row) -> str:
        return f"{row.principal_paid + row.interest_paid + row.fee_paid + row.penalty_paid:.2f}"


class GuaranteeSerializer(serializers.ModelSerializer):
    guarantor_name = serializers.CharField(source="guarantor.user.get_full_name", read_only=True)
    borrower_name = serializers.CharField(source="loan.membership.user.get_full_name", read_only=True)
    principal = MoneyField(source="loan.principal", read_only=True)

    class Meta:
        model = Guarantee
        fields = [
            "id",
            "loan",
            "guarantor",
            "guarantor_name",
            "borrower_name",
            "principal",
            "amount",
            "status",
            "decided_date",
        ]
        read_only_fields = ["amount"]


class ApprovalSerializer(serializers.ModelSerializer):
    officer = serializers.CharField(source="officer.get_full_name")

    class Meta:
        model = LoanApproval
        fields = ["officer", "decision", "comment", "created_date"]


class CollateralSerializer(serializers.ModelSerializer):
    class Meta:
        model = Collateral
        fields = ["id", "description", "value", "document"]
        read_only_fields = fields
        extra_kwargs = {"document": {"help_text": "Download (officers and the borrower), or null."}}


class LoanSerializer(serializers.ModelSerializer):
    outstanding_principal = MoneyField(read_only=True)
    payoff_today = MoneyField(
        read_only=True, allow_null=True, help_text="On a single loan only (null in lists): what settles it today."
    )
    borrower = serializers.CharField(source="membership.user.get_full_name", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    schedule = serializers.SerializerMethodField()
    guarantees = GuaranteeSerializer(many=True, read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)
    collateral = CollateralSerializer(many=True, read_only=True)
    pending_requests = serializers.SerializerMethodField(
        help_text="A reschedule or write-off asked for and waiting for a second officer: who asked, what, and "
        "(on a single loan) who may still sign."
    )

    class Meta:
        model = Loan
        fields = [
            "id",
            "membership",
            "borrower",
            "product",
            "product_name",
            "principal",
            "purpose",
            "interest_method",
            "interest_rate",
            "rate_period",
            "repayment_frequency",
            "installments_count",
            "fee",
            "fee_mode",
            "status",
            "disbursed_date",
            "classification",
            "days_in_arrears",
            "outstanding_principal",
            "payoff_today",
            "schedule",
            "guarantees",
            "approvals",
            "collateral",
            "pending_requests",
            "created_date",
        ]
        read_only_fields = ["principal", "fee"]

    def get_pending_requests(self, loan) -> list[dict]:
        pending = []
        if loan.reschedule_requested_by_id:
            pending.append(
                {
                    "what": "reschedule",
                    "asked_by": loan.reschedule_requested_by.get_full_name(),
                    "installments": loan.reschedule_installments,
                    "reason": loan.reschedule_reason,
                    "interest_rate": None
                    if loan.reschedule_interest_rate is None
                    else str(loan.reschedule_interest_rate),
                    "action": "approve_reschedule",
                    "signed": loan.reschedule_requested_by_id,
                }
            )
        if loan.write_off_requested_by_id:
            pending.append(
                {
                    "what": "write_off",
                    "asked_by": loan.write_off_requested_by.get_full_name(),
                    "reason": loan.write_off_reason,
                    "action": "approve_write_off",
                    "signed": loan.write_off_requested_by_id,
                }
            )
        for request in pending:
            action, signed = request.pop("action"), request.pop("signed")
            if self.context.get("detail"):  # a few queries: only on a single loan, never per row of a list
                request["awaiting_signature_from"] = signatures.signer_names(loan, action, [signed])
        return pending

    def get_schedule(self, loan) -> list[dict]:
        rows = [row for row in loan.installments.all() if row.version == loan.schedule_version]
        return InstallmentSerializer(rows, many=True).data


class GuarantorSerializer(serializers.Serializer):
    membership = IdRelatedField(queryset=Membership.objects.none())
    amount = MoneyField()


class ApplySerializer(ChamaScopedSerializer):
    scoped_fields = {
        "membership": chama_members,
        "product": lambda chama: LoanProduct.objects.filter(chama=chama, is_active=True),
    }

    product = IdRelatedField(queryset=LoanProduct.objects.none())
    principal = MoneyField()
    installments = serializers.IntegerField(min_value=1, max_value=600)
    purpose = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    membership = IdRelatedField(
        queryset=Membership.objects.none(),
        required=False,
        help_text="Officers applying for a member; members apply for themselves.",
    )
    guarantors = GuarantorSerializer(many=True, required=False, default=list)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        chama = self.context.get("chama")
        self.fields["guarantors"].child.fields["membership"].queryset = (
            chama_members(chama) if chama else Membership.objects.none()
        )


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class DisburseSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaidThrough.choices)
    value_date = DateField(required=False)
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class RepaySerializer(DisburseSerializer):
    amount = MoneyField()


class RescheduleSerializer(serializers.Serializer):
    installments = serializers.IntegerField(min_value=1, max_value=600)
    interest_rate = serializers.DecimalField(max_digits=7, decimal_places=3, min_value=0, required=False)
