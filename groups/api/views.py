from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from chama import authority, tenancy
from chama.api.viewsets import ChamaNestedViewSet
from groups import services
from groups.api import filters, serializers
from groups.models import Chama, Invitation, JoinRequest, Membership, MembershipChangeRequest


class ChamaViewSet(viewsets.ReadOnlyModelViewSet):
    """The chamas you are an active member of, with their rules and your role."""

    queryset = Chama.objects.select_related("policy")
    serializer_class = serializers.ChamaSerializer
    filterset_fields = ["kind", "category", "status"]
    search_fields = ["name", "registration_number"]
    ordering_fields = ["name", "created_date", "members_count"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset.none()
        return self.queryset.filter(pk__in=tenancy.member_chama_ids(self.request.user))

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["roles"] = tenancy.chama_roles(self.request.user)
        return context


def member_as_seen(**kwargs):
    """A member as the caller sees them: fellow members get the register's columns, officers
    also the contact details and exit reason (the two shapes are documented apart)."""
    return PolymorphicProxySerializer(
        component_name="MemberAsSeen",
        serializers=[serializers.MemberSerializer, serializers.MemberOfficerSerializer],
        resource_type_field_name=None,
        **kwargs,
    )


@extend_schema_view(
    list=extend_schema(responses=member_as_seen(many=True)), retrieve=extend_schema(responses=member_as_seen())
)
class MemberViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ChamaNestedViewSet,
):
    """Members of a chama. Every member sees the register (names and numbers); officers see contact
    details and search by phone; the chairperson and secretary add members and change status; the
    chairperson changes roles. A registered person added here is invited (202), and a chairperson's
    suspension, exit or demotion, or a member number once money was posted with it, waits for a
    second officer (202 with the pending change)."""

    queryset = Membership.objects.select_related("user")
    filterset_class = filters.MemberFilter
    OFFICER_SEARCH_FIELDS = ["member_number", "user__first_name", "user__last_name", "user__phone_number"]
    MEMBER_SEARCH_FIELDS = ["member_number", "user__first_name", "user__last_name"]
    ordering_fields = ["member_number", "joined_date", "role"]
    ordering = ["member_number"]
    http_method_names = ["get", "post", "patch", "options", "head"]
    action_rules = {
        "list": "view_members",
        "retrieve": "view_members",
        "create": "manage_members",
        "partial_update": "manage_members",
    }

    def sees_contacts(self):
        return getattr(self, "swagger_fake_view", False) or authority.may(
            self.request.user, "view_contacts", chama=self.chama
        )

    @property
    def search_fields(self):
        # A fellow member finds people by name or member number, never by phone: a search that
        # matched a phone number would tell them whose it is.
        return self.OFFICER_SEARCH_FIELDS if self.sees_contacts() else self.MEMBER_SEARCH_FIELDS

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.MemberCreateSerializer
        if self.sees_contacts():
            return serializers.MemberOfficerSerializer
        return serializers.MemberSerializer

    @extend_schema(
        request=serializers.MemberCreateSerializer,
        responses={201: serializers.MemberOfficerSerializer, 202: serializers.MemberInvitedSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        added = services.member_add(chama=self.chama, by=request.user, **serializer.validated_data)
        if isinstance(added, Invitation):  # already registered: they join only by accepting
            body = serializers.MemberInvitedSerializer(added, context=self.get_serializer_context()).data
            return Response(body, status=status.HTTP_202_ACCEPTED)
        return Response(serializers.MemberOfficerSerializer(added).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.MemberOfficerSerializer,
        responses={200: serializers.MemberOfficerSerializer, 202: serializers.MembershipChangeSerializer},
    )
    def partial_update(self, request, *args, **kwargs):
        membership = self.get_object()
        serializer = self.get_serializer(membership, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        reason = data.get("reason", "")
        changes = [
            (
                "member_number",
                lambda m: services.membership_change_member_number(
                    membership=m, member_number=data["member_number"], by=request.user, reason=reason
                ),
            ),
            (
                "role",
                lambda m: services.membership_change_role(
                    membership=m, role=data["role"], by=request.user, reason=reason
                ),
            ),
            (
                "status",
                lambda m: services.membership_change_status(
                    membership=m, status=data["status"], by=request.user, reason=data.get("exit_reason") or reason
                ),
            ),
        ]
        pending = []
        with transaction.atomic():
            for name, change in changes:
                if name not in data or data[name] == getattr(membership, name):
                    continue
                result = change(membership)
                if (
                    isinstance(result, MembershipChangeRequest)
                    and result.status == MembershipChangeRequest.Status.PENDING
                ):
                    pending.append(result)
                else:
                    membership = result
            if len(pending) > 1:  # rolls the whole request back
                raise ValidationError(
                    "Change the status, the role and the member number one at a time: "
                    "each waits for its own second signature."
                )
        if pending:
            return Response(serializers.MembershipChangeSerializer(pending[0]).data, status=status.HTTP_202_ACCEPTED)
        return Response(self.get_serializer(self.get_queryset().get(pk=membership.pk)).data)


class MembershipChangeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Changes to memberships: a chairperson's suspension, exit or demotion and a member number
    change once money was posted, each waiting for a second officer; and every member number
    change made. Officers see them; any officer but the one who asked and the member concerned
    approves or rejects (the one who asked may reject, to withdraw it)."""

    queryset = MembershipChangeRequest.objects.select_related("membership__user", "requested_by", "decided_by")
    serializer_class = serializers.MembershipChangeSerializer
    filterset_class = filters.MembershipChangeFilter
    ordering_fields = ["created_date", "decided_date"]
    action_rules = {
        "list": "view_contacts",
        "retrieve": "view_contacts",
        "approve": "approve_member_change",
        "reject": "approve_member_change",
    }

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        change = services.membership_change_approve(change=self.get_object(), by=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=change.pk)).data)

    @extend_schema(request=serializers.DeclineSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        change = self.get_object()
        body = serializers.DeclineSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        change = services.membership_change_reject(change=change, by=request.user, reason=body.validated_data["reason"])
        return Response(self.get_serializer(self.get_queryset().get(pk=change.pk)).data)


class ChamaJoinRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Requests to join this chama; officers review them, the chairperson or secretary decides."""

    queryset = JoinRequest.objects.select_related("user")
    serializer_class = serializers.ChamaJoinRequestSerializer
    filterset_class = filters.JoinRequestFilter
    action_rules = {
        "list": "view_contacts",
        "retrieve": "view_contacts",
        "approve": "manage_members",
        "decline": "manage_members",
    }

    @extend_schema(request=None, responses={200: serializers.MemberOfficerSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        membership = services.join_request_approve(join_request=self.get_object(), by=request.user)
        return Response(serializers.MemberOfficerSerializer(membership).data)

    @extend_schema(request=serializers.DeclineSerializer, responses={200: serializers.ChamaJoinRequestSerializer})
    @action(detail=True, methods=["post"])
    def decline(self, request, *args, **kwargs):
        join_request = self.get_object()
        body = serializers.DeclineSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        join_request = services.join_request_decline(
            join_request=join_request, by=request.user, reason=body.validated_data["reason"]
        )
        return Response(self.get_serializer(join_request).data)


class MyJoinRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Your requests to join chamas: apply with a chama's id, or withdraw a pending request."""

    queryset = JoinRequest.objects.select_related("chama")
    serializer_class = serializers.JoinRequestSerializer
    filterset_class = filters.JoinRequestFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset.none()
        return self.queryset.filter(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.join_request_create(
            chama=serializer.validated_data["chama"],
            user=self.request.user,
            message=serializer.validated_data.get("message", ""),
        )

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, *args, **kwargs):
        join_request = services.join_request_withdraw(join_request=self.get_object(), user=request.user)
        return Response(self.get_serializer(join_request).data)


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ChamaNestedViewSet):
    """Invitations by phone number or email; the invitee accepts with the token."""

    queryset = Invitation.objects.all()
    serializer_class = serializers.InvitationSerializer
    filterset_class = filters.InvitationFilter
    action_rules = {
        "list": "manage_members",
        "retrieve": "manage_members",
        "create": "manage_members",
        "revoke": "manage_members",
    }

    def perform_create(self, serializer):
        serializer.instance = services.invitation_create(
            chama=self.chama, by=self.request.user, **serializer.validated_data
        )

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def revoke(self, request, *args, **kwargs):
        invitation = services.invitation_revoke(invitation=self.get_object(), by=request.user)
        return Response(self.get_serializer(invitation).data)


class InvitationAcceptView(APIView):
    """Accept an invitation. Logged in: you join as yourself. New to the platform: give your name,
    a password (and a phone number if the invitation was sent by email) to register and join."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(request=serializers.InvitationAcceptSerializer, responses={201: serializers.MemberSerializer})
    def post(self, request):
        body = serializers.InvitationAcceptSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = request.user if request.user.is_authenticated else None
        membership = services.invitation_accept(
            token=data["token"],
            user=user,
            first_name=data["first_name"],
            last_name=data["last_name"],
            password=data["password"],
            phone_number=data["phone_number"],
        )
        return Response(serializers.MemberSerializer(membership).data, status=status.HTTP_201_CREATED)
