from functools import cached_property

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from chama import downloads
from chama.api.pagination import StandardPagination
from chama.api.viewsets import ChamaNestedViewSet
from finance.api import idempotency
from finance.selectors import ledger as ledger_reads
from finance.services.collections import SheetRefused
from meetings import services
from meetings.api import serializers
from meetings.models import Attendance, Meeting, Proposal


class MeetingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ChamaNestedViewSet):
    """Meetings with agenda, minutes, resolutions and action items (`?when=upcoming|past`); members
    RSVP; the chairperson and secretary call meetings and keep the register."""

    queryset = Meeting.objects.prefetch_related(
        "agenda", "attachments", "resolutions", "action_items__owner__user", "rsvps__membership"
    )
    serializer_class = serializers.MeetingSerializer
    filterset_fields = ["kind", "status", "format"]
    ordering_fields = ["starts_at"]
    action_rules = {
        "list": None,
        "retrieve": None,
        "rsvp": None,
        "attachment": None,
        "create": "run_meeting",
        "register": "run_meeting",
        "collection_sheet": "record_payment",
    }

    def get_queryset(self):
        # Meta.ordering does not apply to a grouped query: the newest first is said again.
        queryset = (
            super()
            .get_queryset()
            .annotate(present_count=Count("attendance", filter=Q(attendance__status__in=Attendance.ATTENDED)))
            .order_by("-starts_at")
        )
        when = self.request.query_params.get("when")
        if when == "upcoming":
            return queryset.filter(starts_at__gte=timezone.now()).order_by("starts_at")
        if when == "past":
            return queryset.filter(starts_at__lt=timezone.now()).order_by("-starts_at")
        return queryset

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if "chama" in context:
            context["quorum_required"] = services.quorum_required(self.chama)
        return context

    @extend_schema(parameters=[OpenApiParameter("when", str, enum=["upcoming", "past"])])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=serializers.MeetingCreateSerializer, responses={201: serializers.MeetingSerializer})
    def create(self, request, *args, **kwargs):
        body = serializers.MeetingCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        meeting = services.meeting_create(chama=self.chama, by=request.user, **body.validated_data)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=meeting.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=serializers.RsvpSerializer, responses=serializers.RsvpSerializer)
    @action(detail=True, methods=["post"])
    def rsvp(self, request, *args, **kwargs):
        """Say you are attending, or send an apology with a reason."""
        meeting = self.get_object()
        body = serializers.RsvpSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        answer = services.rsvp(
            meeting=meeting, membership=self.chama.memberships.get(user=request.user), **body.validated_data
        )
        return Response(serializers.RsvpSerializer(answer).data)

    @extend_schema(responses={code: answer for code, answer in downloads.DOWNLOAD_RESPONSES.items() if code != 403})
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>\d+)", url_name="attachment")
    def attachment(self, request, *args, attachment_id, **kwargs):
        """Download one of the minutes' attachments (the same as its `url`)."""
        return downloads.serve(
            request.user, get_object_or_404(self.get_object().attachments, pk=attachment_id), "document"
        )

    @extend_schema(methods=["get"], responses=serializers.AttendanceSerializer(many=True))
    @extend_schema(
        methods=["post"], request=serializers.RegisterSerializer, responses=serializers.AttendanceSerializer(many=True)
    )
    @action(detail=True, methods=["get", "post"])
    def register(self, request, *args, **kwargs):
        """The meeting's register (officers); POST fills it at once and, when held, charges fines."""
        meeting = self.get_object()
        if request.method == "POST":
            body = serializers.RegisterSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            entries = services.register_entries(chama=self.chama, rows=body.validated_data["entries"])
            services.register_save(meeting=meeting, by=request.user, entries=entries, held=body.validated_data["held"])
        rows = meeting.attendance.select_related("meeting", "membership").order_by("membership__member_number")
        return Response(serializers.AttendanceSerializer(rows, many=True).data)

    @extend_schema(
        request=serializers.CollectionSheetSerializer,
        parameters=[idempotency.PARAMETER, idempotency.REPLAYED],
        responses=idempotency.responses(serializers.CollectionSheetResultSerializer),
    )
    @action(detail=True, methods=["post"], url_path="collection-sheet", url_name="collection-sheet")
    def collection_sheet(self, request, *args, **kwargs):
        """What every member handed in at the meeting (contribution, shares, fines, a loan
        repayment), dated the meeting's day and posted all together or not at all: a refused row
        is a 400 with its messages under the row's index in `rows`, and nothing is posted."""
        meeting = self.get_object()
        body = serializers.CollectionSheetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rows = body.validated_data["rows"]
        try:
            result = services.meeting_collections(
                meeting=meeting,
                rows=rows,
                method=body.validated_data["method"],
                by=request.user,
                client_key=idempotency.idempotency_key(request),
            )
        except SheetRefused as exc:
            errors = dict(exc.general)
            if exc.rows:
                errors["rows"] = {str(index): cells for index, cells in sorted(exc.rows.items())}
            raise ValidationError(errors) from None
        journals = (
            ledger_reads.journals_with_entries()
            .filter(pk__in=[journal.pk for journal in result.journals])
            .order_by("pk")
        )
        answer = serializers.CollectionSheetResultSerializer(
            {"journals": journals, "count": len(result.journals), "total": result.total}
        )
        response = Response(answer.data, status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED)
        return idempotency.mark_replayed(response, result.replayed)


class MyAttendancePagination(StandardPagination):
    """The usual page, plus the member's attendance percentage over every meeting."""

    def get_paginated_response_schema(self, schema):
        envelope = super().get_paginated_response_schema(schema)
        envelope["properties"]["attendance_percentage"] = {
            "type": "string",
            "format": "decimal",
            "nullable": True,
            "description": "Meetings attended (excused absences as the policy says), in percent; null before the first meeting.",
        }
        envelope["required"] = [*envelope.get("required", []), "attendance_percentage"]
        return envelope


class MyAttendanceViewSet(mixins.ListModelMixin, ChamaNestedViewSet):
    """Your attendance at this chama's meetings, newest first, and your attendance percentage."""

    queryset = Attendance.objects.select_related("meeting", "membership").order_by("-meeting__starts_at")
    serializer_class = serializers.AttendanceSerializer
    pagination_class = MyAttendancePagination
    action_rules = {"list": None}

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        return queryset.filter(membership=self.my_membership)

    @cached_property
    def my_membership(self):
        """Read once: the attendance rows are then found by the membership's id, not through its user."""
        return self.chama.memberships.get(user=self.request.user)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        percentage = self.my_membership.attendance_percentage
        response.data["attendance_percentage"] = None if percentage is None else f"{percentage:.2f}"
        return response


class ProposalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ChamaNestedViewSet):
    """Proposals put to a vote; members vote (and may change their vote until it closes); the
    result shows once voting closes."""

    queryset = Proposal.objects.prefetch_related("votes__membership")
    serializer_class = serializers.ProposalSerializer
    filterset_fields = ["status", "kind", "result"]
    action_rules = {"list": None, "retrieve": None, "vote": None, "create": "run_meeting"}

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.proposal_create(chama=self.chama, by=self.request.user, **data)

    @extend_schema(request=serializers.VoteSerializer, responses=serializers.VoteSerializer)
    @action(detail=True, methods=["post"])
    def vote(self, request, *args, **kwargs):
        proposal = self.get_object()
        body = serializers.VoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        vote = services.vote_cast(
            proposal=proposal,
            membership=self.chama.memberships.get(user=request.user),
            choice=body.validated_data["choice"],
        )
        return Response({"choice": vote.choice})
