from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from chama import login_security
from chama.models import User


class LoginForm(AdminAuthenticationForm):
    """Back-office login by phone number or email. Every refusal (unknown login, wrong password,
    locked account, no back-office access) shows the API's one message, so the form tells nobody
    who is registered or locked; the backend does the counting and the refusing."""

    username = forms.CharField(label="Phone number or email", max_length=254, widget=forms.TextInput(attrs={"autofocus": True}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        refused = login_security.refused_message()
        self.error_messages = {**self.error_messages, "invalid_login": refused, "inactive": refused}


class UserCreateForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("phone_number", "first_name", "last_name", "email", "id_number")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
