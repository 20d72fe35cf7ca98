from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from chama import tenancy
from chama.api.viewsets import ChamaNestedViewSet
from chama.roles import MEMBER_MANAGER_ROLES, OFFICER_ROLES
from groups import services
from groups.api import filters, serializers
from groups.models import Chama, Invitation, JoinRequest, Membership


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


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    mixins.UpdateModelMixin, ChamaNestedViewSet):
    """Members of a chama. Every member sees the register; officers see contact details,
    the chairperson and secretary add members and change status; the chairperson changes roles."""

    queryset = Membership.objects.select_related("user")
    filterset_class = filters.MemberFilter
    search_fields = ["member_number", "user__first_name", "user__last_name", "user__phone_number"]
    ordering_fields = ["member_number", "joined_date", "role"]
    ordering = ["member_number"]
    http_method_names = ["get", "post", "patch", "options", "head"]
    action_roles = {"create": MEMBER_MANAGER_ROLES, "partial_update": MEMBER_MANAGER_ROLES}

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.MemberCreateSerializer
        if getattr(self, "swagger_fake_view", False) or self.caller_role() in OFFICER_ROLES:
            return serializers.MemberOfficerSerializer
        return serializers.MemberSerializer

    @extend_schema(request=serializers.MemberCreateSerializer, responses={201: serializers.MemberOfficerSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.member_add(chama=self.chama, by=request.user, **serializer.validated_data)
        return Response(serializers.MemberOfficerSerializer(membership).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        membership = serializer.instance
        data = serializer.validated_data
        if "role" in data and data["role"] != membership.role:
            membership = services.membership_change_role(membership=membership, role=data["role"], by=self.request.user)
        if "status" in data and data["status"] != membership.status:
            membership = services.membership_change_status(
                membership=membership, status=data["status"], by=self.request.user, reason=data.get("exit_reason", "")
            )
        serializer.instance = membership


class ChamaJoinRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Requests to join this chama; officers review them, the chairperson or secretary decides."""

    queryset = JoinRequest.objects.select_related("user")
    serializer_class = serializers.ChamaJoinRequestSerializer
    filterset_class = filters.JoinRequestFilter
    action_roles = {
        "list": OFFICER_ROLES, "retrieve": OFFICER_ROLES,
        "approve": MEMBER_MANAGER_ROLES, "decline": MEMBER_MANAGER_ROLES,
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


class MyJoinRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                           viewsets.GenericViewSet):
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
            chama=serializer.validated_data["chama"], user=self.request.user,
            message=serializer.validated_data.get("message", ""),
        )

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, *args, **kwargs):
        join_request = services.join_request_withdraw(join_request=self.get_object(), user=request.user)
        return Response(self.get_serializer(join_request).data)


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        ChamaNestedViewSet):
    """Invitations by phone number or email; the invitee accepts with the token."""

    queryset = Invitation.objects.all()
    serializer_class = serializers.InvitationSerializer
    filterset_class = filters.InvitationFilter
    action_roles = {
        "list": MEMBER_MANAGER_ROLES, "retrieve": MEMBER_MANAGER_ROLES,
        "create": MEMBER_MANAGER_ROLES, "revoke": MEMBER_MANAGER_ROLES,
    }

    def perform_create(self, serializer):
        serializer.instance = services.invitation_create(chama=self.chama, by=self.request.user, **serializer.validated_data)

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
            token=data["token"], user=user, first_name=data["first_name"], last_name=data["last_name"],
            password=data["password"], phone_number=data["phone_number"],
        )
        return Response(serializers.MemberSerializer(membership).data, status=status.HTTP_201_CREATED)
