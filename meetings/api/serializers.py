from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from chama.api.fields import MoneyField
from finance.api.serializers import METHODS, JournalSerializer
from meetings import services
from meetings.models import (
    ActionItem,
    AgendaItem,
    Attendance,
    Meeting,
    MinutesAttachment,
    Proposal,
    Resolution,
    Rsvp,
    Vote,
)


class AgendaItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgendaItem
        fields = ["position", "title", "notes"]


class ResolutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Resolution
        fields = ["text", "passed"]


class ActionItemSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.user.get_full_name", default=None, allow_null=True)

    class Meta:
        model = ActionItem
        fields = ["description", "owner", "due_date", "status"]


class MinutesAttachmentSerializer(serializers.ModelSerializer):
    url = serializers.FileField(source="document", read_only=True, help_text="Download (members of the chama only).")

    class Meta:
        model = MinutesAttachment
        fields = ["id", "title", "url"]


class MeetingSerializer(serializers.ModelSerializer):
    agenda = AgendaItemSerializer(many=True, read_only=True)
    attachments = MinutesAttachmentSerializer(many=True, read_only=True)
    resolutions = ResolutionSerializer(many=True, read_only=True)
    action_items = ActionItemSerializer(many=True, read_only=True)
    quorum = serializers.SerializerMethodField(
        help_text="Members present or late, how many make a quorum, and whether it was met."
    )
    my_rsvp = serializers.SerializerMethodField()

    class Meta:
        model = Meeting
        fields = [
            "id",
            "title",
            "kind",
            "format",
            "location",
            "link",
            "starts_at",
            "ends_at",
            "status",
            "quorum",
            "minutes",
            "attachments",
            "agenda",
            "resolutions",
            "action_items",
            "my_rsvp",
        ]

    @extend_schema_field(
        inline_serializer(
            "Quorum",
            {
                "present": serializers.IntegerField(),
                "required": serializers.IntegerField(),
                "met": serializers.BooleanField(),
            },
        )
    )
    def get_quorum(self, meeting):
        present, required, met = services.quorum_of(meeting.present_count, self.context["quorum_required"])
        return {"present": present, "required": required, "met": met}

    def get_my_rsvp(self, meeting) -> str | None:
        user = self.context["request"].user
        answer = next((r for r in meeting.rsvps.all() if r.membership.user_id == user.pk), None)
        return answer.response if answer else None


class MeetingCreateSerializer(serializers.ModelSerializer):
    agenda = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=50
    )

    class Meta:
        model = Meeting
        fields = ["title", "kind", "format", "location", "link", "starts_at", "ends_at", "agenda"]


class RsvpSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rsvp
        fields = ["response", "reason"]


class AttendanceSerializer(serializers.ModelSerializer):
    meeting_title = serializers.CharField(source="meeting.title", read_only=True)
    meeting_starts_at = serializers.DateTimeField(source="meeting.starts_at", read_only=True)
    member_number = serializers.CharField(source="membership.member_number", read_only=True)

    class Meta:
        model = Attendance
        fields = [
            "meeting",
            "meeting_title",
            "meeting_starts_at",
            "membership",
            "member_number",
            "status",
            "arrived_at",
            "left_at",
            "note",
        ]


class RegisterEntrySerializer(serializers.Serializer):
    membership = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Attendance.Status.choices)
    arrived_at = serializers.TimeField(required=False, allow_null=True)
    left_at = serializers.TimeField(required=False, allow_null=True)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RegisterSerializer(serializers.Serializer):
    entries = RegisterEntrySerializer(many=True, max_length=1000)
    held = serializers.BooleanField(default=True)


class CollectionRowSerializer(serializers.Serializer):
    membership = serializers.IntegerField(help_text="The member's membership id; each member on one row only.")
    contribution = MoneyField(
        required=False,
        allow_null=True,
        help_text="Settles their oldest contributions and levies; the rest is kept as an advance.",
    )
    shares = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=1000,
        help_text="Shares bought at the share price (chamas that sell shares).",
    )
    fines = MoneyField(
        required=False, allow_null=True, help_text="Settles their fines; the rest is kept as an advance."
    )
    repayment = MoneyField(
        required=False, allow_null=True, help_text="Goes to their oldest outstanding loan, at most its payoff."
    )


class CollectionSheetSerializer(serializers.Serializer):
    rows = CollectionRowSerializer(many=True, min_length=1, max_length=1000)
    method = serializers.ChoiceField(choices=METHODS, default="cash", help_text="How the money was received.")


class CollectionSheetResultSerializer(serializers.Serializer):
    journals = JournalSerializer(many=True, help_text="Every journal the sheet posted, with its entries.")
    count = serializers.IntegerField(help_text="How many journals were posted.")
    total = MoneyField(help_text="What the journals add up to.")


class ProposalSerializer(serializers.ModelSerializer):
    result = serializers.ChoiceField(
        choices=Proposal.Result.choices, allow_blank=True, read_only=True, help_text="Empty until voting closes."
    )
    my_vote = serializers.SerializerMethodField()
    tally = serializers.SerializerMethodField(help_text="Shown once voting has closed.")

    class Meta:
        model = Proposal
        fields = [
            "id",
            "title",
            "description",
            "kind",
            "opens_at",
            "closes_at",
            "status",
            "pass_threshold",
            "quorum_percentage",
            "eligible_count",
            "result",
            "tally",
            "my_vote",
        ]
        read_only_fields = ["status", "pass_threshold", "quorum_percentage", "eligible_count", "result"]

    def get_my_vote(self, proposal) -> str | None:
        user = self.context["request"].user
        vote = next((v for v in proposal.votes.all() if v.membership.user_id == user.pk), None)
        return vote.choice if vote else None

    def get_tally(self, proposal) -> dict | None:
        if proposal.status != Proposal.Status.CLOSED:
            return None
        return {"yes": proposal.yes_count, "no": proposal.no_count, "abstain": proposal.abstain_count}


class VoteSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=Vote.Choice.choices)
