from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from meetings import services
from meetings.models import ActionItem, AgendaItem, Attendance, Meeting, MinutesAttachment, Proposal, Resolution, Rsvp, Vote


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
    quorum = serializers.SerializerMethodField(help_text="Members present or late, how many make a quorum, and whether it was met.")
    my_rsvp = serializers.SerializerMethodField()

    class Meta:
        model = Meeting
        fields = ["id", "title", "kind", "format", "location", "link", "starts_at", "ends_at", "status", "quorum", "minutes",
                  "attachments", "agenda", "resolutions", "action_items", "my_rsvp"]

    @extend_schema_field(inline_serializer("Quorum", {"present": serializers.IntegerField(), "required": serializers.IntegerField(),
                                                      "met": serializers.BooleanField()}))
    def get_quorum(self, meeting):
        present, required, met = services.quorum_of(meeting.present_count, self.context["quorum_required"])
        return {"present": present, "required": required, "met": met}

    def get_my_rsvp(self, meeting) -> str | None:
        user = self.context["request"].user
        answer = next((r for r in meeting.rsvps.all() if r.membership.user_id == user.pk), None)
        return answer.response if answer else None


class MeetingCreateSerializer(serializers.ModelSerializer):
    agenda = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list, max_length=50)

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
        fields = ["meeting", "meeting_title", "meeting_starts_at", "membership", "member_number", "status",
                  "arrived_at", "left_at", "note"]


class RegisterEntrySerializer(serializers.Serializer):
    membership = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Attendance.Status.choices)
    arrived_at = serializers.TimeField(required=False, allow_null=True)
    left_at = serializers.TimeField(required=False, allow_null=True)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RegisterSerializer(serializers.Serializer):
    entries = RegisterEntrySerializer(many=True, max_length=1000)
    held = serializers.BooleanField(default=True)


class ProposalSerializer(serializers.ModelSerializer):
    result = serializers.ChoiceField(choices=Proposal.Result.choices, allow_blank=True, read_only=True,
                                     help_text="Empty until voting closes.")
    my_vote = serializers.SerializerMethodField()
    tally = serializers.SerializerMethodField(help_text="Shown once voting has closed.")

    class Meta:
        model = Proposal
        fields = ["id", "title", "description", "kind", "opens_at", "closes_at", "status", "pass_threshold",
                  "quorum_percentage", "eligible_count", "result", "tally", "my_vote"]
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
