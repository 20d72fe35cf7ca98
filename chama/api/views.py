from django.contrib.auth import get_user_model, update_session_auth_hash
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView

from chama.api.serializers import LoginSerializer, MeSerializer, PasswordChangeSerializer

class LoginView(TokenObtainPairView):
    """Obtain an access and a refresh token with a phone number or email and a password."""

    serializer_class = LoginSerializer

class MeView(generics.RetrieveUpdateAPIView):
    """Your profile and your memberships (every chama you belong to, with your role in it)."""

    serializer_class = MeSerializer
    http_method_names = ["get", "patch", "options", "head"]

    def get_object(self):
        return get_user_model().objects.prefetch_related("memberships__chama").get(pk=self.request.user.pk)

class PasswordChangeView(APIView):
    """Change your password; other sessions keep working until their tokens expire."""

    @extend_schema(request=PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        request.user.set_password(serializer.validated_data["new_password"])
        request.user.save(update_fields=["password", "updated_date"])
        update_session_auth_hash(request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
