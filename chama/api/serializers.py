from django.contrib.auth import authenticate, get_user_model, password_validation
from django.contrib.auth.models import update_last_login
from rest_framework import exceptions, serializers
from rest_framework_simplejwt.tokens import RefreshToken

from chama import login_security, services
from chama.api.fields import DateField
from chama.models import Notification, NotificationPreference


class LoginSerializer(serializers.Serializer):
    login = serializers.CharField(max_length=254, write_only=True, help_text="Phone number (e.g. 0712345678) or email.")
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})
    refresh = serializers.CharField(read_only=True)
    access = serializers.CharField(read_only=True)

    def validate(self, attrs):
        user = authenticate(self.context.get("request"), username=attrs["login"], password=attrs["password"])
        if user is None:
            # One answer for an unknown login, a wrong password and a locked account alike.
            raise exceptions.AuthenticationFailed(login_security.refused_message(), code="no_active_account")
        update_last_login(None, user)
        refresh = RefreshToken.for_user(user)
        return {"refresh": str(refresh), "access": str(refresh.access_token)}


class MyMembershipSerializer(serializers.Serializer):
    chama_id = serializers.IntegerField()
    chama_name = serializers.CharField(source="chama.name")
    member_number = serializers.CharField()
    role = serializers.CharField()
    status = serializers.CharField()
    joined_date = DateField()


class MeSerializer(serializers.ModelSerializer):
    memberships = MyMembershipSerializer(many=True, read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "first_name", "last_name", "phone_number", "email", "id_number", "kyc_status", "memberships"]
        read_only_fields = ["id", "phone_number", "id_number", "kyc_status"]

    def validate_email(self, value):
        return (value or "").strip().lower() or None

    def update(self, instance, validated_data):
        return services.profile_update(user=instance, **validated_data)


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, write_only=True)
    new_password = serializers.CharField(max_length=128, write_only=True)

    def validate_current_password(self, value):
        # Counted like a login, with the login's one answer for a wrong password and a lock.
        if not login_security.check_current_password(self.context["request"].user, value):
            raise serializers.ValidationError(login_security.refused_message())
        return value

    def validate_new_password(self, value):
        password_validation.validate_password(value, self.context["request"].user)
        return value


class NotificationSerializer(serializers.ModelSerializer):
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "created_date", "read_date", "expires_date", "unread"]

    def get_unread(self, notification) -> bool:
        return notification.read_date is None


class NotificationPreferenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationPreference
        fields = ["email", "sms"]
