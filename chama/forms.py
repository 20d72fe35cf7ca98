from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError

from chama import login_security
from chama.models import User


class LoginForm(AdminAuthenticationForm):
    """Back-office login by phone number or email, refusing locked accounts with the reason."""

    username = forms.CharField(label="Phone number or email", max_length=254, widget=forms.TextInput(attrs={"autofocus": True}))

    def clean(self):
        self._refuse_if_locked()
        try:
            return super().clean()
        except ValidationError:
            self._refuse_if_locked()  # this very attempt may have locked the account
            raise

    def _refuse_if_locked(self):
        user = login_security.find_user_by_login(self.cleaned_data.get("username"))
        if user is not None and user.is_locked:
            raise ValidationError(login_security.lockout_message(user), code="locked")


class UserCreateForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("phone_number", "first_name", "last_name", "email", "id_number")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
