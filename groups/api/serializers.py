from django.urls import reverse
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from chama.api.fields import DateField, IdRelatedField
from chama.roles import Role
from groups.models import Chama, Invitation, JoinRequest, Membership, MembershipChangeRequest, Policy


class PolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = Policy
        exclude = ["id", "chama", "created_date", "updated_date"]
        read_only_fields = ["contribution_amount", "late_fine_amount", "share_price", "second_approval_threshold"]


class ChamaSerializer(serializers.ModelSerializer):
    policy = PolicySerializer(read_only=True)
    my_role = serializers.SerializerMethodField()

    class Meta:
        model = Chama
        fields = [
            "id",
            "name",
            "category",
            "kind",
            "currency",
            "registration_number",
            "timezone",
            "status",
            "founded_date",
            "description",
            "constitution",
            "members_count",
            "my_role",
            "policy",
            "created_date",
        ]
        extra_kwargs = {
            "constitution": {"help_text": "Download of the signed constitution (members of the chama), or null."}
        }
        read_only_fields = fields

    def get_my_role(self, chama) -> str | None:
        return self.context["roles"].get(chama.pk)


class PersonSerializer(serializers.Serializer):
    """A person as fellow members see them: a name, never a contact (the schema closes this shape so
    that it cannot be mistaken for an officer's view)."""

    id = serializers.IntegerField(read_only=True)
    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)


class PersonWithContactSerializer(PersonSerializer):
    phone_number = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)


class MemberSerializer(serializers.ModelSerializer):
    """A member as fellow members see them: no contact details."""

    user = PersonSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "member_number", "role", "status", "joined_date", "exited_date", "user"]
        read_only_fields = fields


class MemberOfficerSerializer(MemberSerializer):
    """A member as officers see them, with contact details; officers change status, role and number."""

    user = PersonWithContactSerializer(read_only=True)
    member_number = serializers.CharField(max_length=20, required=False)
    exit_reason = serializers.CharField(max_length=255, required=False, allow_blank=True)
    reason = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Why: kept with a change that waits for a second officer.",
    )

    class Meta(MemberSerializer.Meta):
        fields = [*MemberSerializer.Meta.fields, "exit_reason", "reason"]
        read_only_fields = ["id", "joined_date", "exited_date", "user"]


class MemberBriefSerializer(serializers.ModelSerializer):
    user = PersonSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "member_number", "user"]
        read_only_fields = fields


class MembershipChangeSerializer(serializers.ModelSerializer):
    """A change to a membership: waiting for a second officer, approved or rejected."""

    member = MemberBriefSerializer(source="membership", read_only=True)
    requested_by = PersonSerializer(read_only=True)
    decided_by = PersonSerializer(read_only=True)
    summary = serializers.CharField(read_only=True)

    class Meta:
        model = MembershipChangeRequest
        fields = [
            "id",
            "member",
            "kind",
            "previous_value",
            "requested_value",
            "summary",
            "reason",
            "status",
            "requested_by",
            "created_date",
            "decided_by",
            "decided_date",
            "rejection_reason",
        ]
        read_only_fields = fields


class MemberCreateSerializer(serializers.Serializer):
    phone_number = PhoneNumberField()
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField(required=False, allow_blank=True)
    id_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)
    member_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    joined_date = DateField(required=False, allow_null=True)


class JoinRequestSerializer(serializers.ModelSerializer):
    chama = IdRelatedField(queryset=Chama.objects.filter(status__in=[Chama.Status.FORMING, Chama.Status.ACTIVE]))
    chama_name = serializers.CharField(source="chama.name", read_only=True)

    class Meta:
        model = JoinRequest
        fields = ["id", "chama", "chama_name", "message", "status", "decline_reason", "created_date", "decided_date"]
        read_only_fields = ["id", "status", "decline_reason", "created_date", "decided_date"]


class ChamaJoinRequestSerializer(serializers.ModelSerializer):
    user = PersonWithContactSerializer(read_only=True)

    class Meta:
        model = JoinRequest
        fields = ["id", "user", "message", "status", "decline_reason", "created_date", "decided_date"]
        read_only_fields = fields


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class InvitationSerializer(serializers.ModelSerializer):
    phone_number = PhoneNumberField(required=False, allow_blank=True)
    accept_url = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = [
            "id",
            "phone_number",
            "email",
            "first_name",
            "last_name",
            "role",
            "member_number",
            "status",
            "token",
            "accept_url",
            "expires_date",
            "created_date",
            "accepted_date",
        ]
        read_only_fields = ["id", "status", "token", "accept_url", "expires_date", "created_date", "accepted_date"]

    def get_accept_url(self, invitation) -> str:
        return self.context["request"].build_absolute_uri(reverse("invitation-accept"))

    def validate(self, attrs):
        if not attrs.get("phone_number") and not attrs.get("email"):
            raise serializers.ValidationError(
                {"phone_number": "Give the phone number or the email of the person to invite."}
            )
        return attrs


class MemberInvitedSerializer(InvitationSerializer):
    """What an officer who added an already registered person gets back: the invitation, with the
    name the person registered with and nothing else of theirs."""

    detail = serializers.SerializerMethodField()

    class Meta(InvitationSerializer.Meta):
        fields = ["detail", *(name for name in InvitationSerializer.Meta.fields if name != "email")]
        read_only_fields = fields

    def get_detail(self, invitation) -> str:
        name = f"{invitation.first_name} {invitation.last_name}".strip()
        return (
            f"{name} is already registered, so they were invited rather than added: they join "
            f"{invitation.chama} when they accept the invitation."
        )


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=64)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone_number = PhoneNumberField(required=False, allow_blank=True, default="")
    password = serializers.CharField(max_length=128, required=False, allow_blank=True, default="", write_only=True)
