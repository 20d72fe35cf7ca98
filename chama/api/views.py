from django.contrib.auth import get_user_model, update_session_auth_hash
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, mixins, status, viewsets
from rest_framework import serializers as drf
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenBackendError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from chama import services, signals
from chama.api.serializers import (
    LoginSerializer,
    MeSerializer,
    NotificationPreferenceSerializer,
    NotificationSerializer,
    PasswordChangeSerializer,
)
from chama.models import Notification, NotificationPreference


class LoginView(TokenObtainPairView):
    """Obtain an access and a refresh token with a phone number or email and a password."""

    serializer_class = LoginSerializer
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


class RefreshView(TokenRefreshView):
    """Exchange a refresh token for a new access token (and a new refresh token: the old one is spent)."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except InvalidToken:
            self._announce_reuse(request)
            raise

    @staticmethod
    def _announce_reuse(request):
        """A genuine refresh token already spent (blacklisted) is being used again: whoever holds a
        copy of it is not its owner's app, which moved on to the next one."""
        token = request.data.get("refresh") if hasattr(request.data, "get") else None
        try:
            payload = token_backend.decode(token, verify=True) if isinstance(token, str) else None
        except TokenBackendError:
            return  # forged or expired: nothing to say about anyone
        if payload and BlacklistedToken.objects.filter(token__jti=payload.get("jti")).exists():
            signals.security_event.send(
                sender=RefreshView,
                kind=signals.TOKEN_REUSE,
                request=request,
                user=get_user_model().objects.filter(pk=payload.get(jwt_settings.USER_ID_CLAIM)).first(),
                chama_id=None,
                detail="A refresh token was used again after it had been rotated or revoked.",
            )


class MeView(generics.RetrieveUpdateAPIView):
    """Your profile and your memberships (every chama you belong to, with your role in it)."""

    serializer_class = MeSerializer
    http_method_names = ["get", "patch", "options", "head"]

    def get_object(self):
        return get_user_model().objects.prefetch_related("memberships__chama").get(pk=self.request.user.pk)


class PasswordChangeView(APIView):
    """Change your password. Every refresh token is revoked, this device's too: whoever held a copy
    of the old password or of a token is out once their access token runs out (15 minutes)."""

    @extend_schema(request=PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        services.password_change(user=request.user, new_password=serializer.validated_data["new_password"])
        update_session_auth_hash(request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your notifications, newest first (`?unread=true` for the unread ones); mark them read."""

    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset.none()
        return services.notifications_of(
            self.request.user, unread_only=self.request.query_params.get("unread") in ("true", "1")
        )

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def read(self, request, *args, **kwargs):
        return Response(self.get_serializer(services.notification_read(notification=self.get_object())).data)

    @extend_schema(request=None, responses={200: inline_serializer("MarkedRead", {"marked_read": drf.IntegerField()})})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request, *args, **kwargs):
        return Response({"marked_read": services.notifications_read_all(user=request.user)})


class NotificationPreferenceView(generics.RetrieveUpdateAPIView):
    """How you want notifications besides the app: by email and by SMS."""

    serializer_class = NotificationPreferenceSerializer
    http_method_names = ["get", "patch", "options", "head"]

    def get_object(self):
        return NotificationPreference.objects.get_or_create(user=self.request.user)[0]
