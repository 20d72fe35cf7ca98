from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.forms import AdminPasswordChangeForm as OwnPasswordChangeForm
from django.contrib.auth.forms import AdminPasswordChangeForm as SomeonesPasswordForm
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError

from chama import login_security, tokens
from chama.dates import DATE_RANGE_MESSAGE, in_range
from chama.models import User


class LoginForm(AdminAuthenticationForm):
    """Back-office login by phone number or email. Every refusal (unknown login, wrong password,
    locked account, no back-office access) shows the API's one message, so the form tells nobody
    who is registered or locked; the backend does the counting and the refusing."""

    username = forms.CharField(
        label="Phone number or email", max_length=254, widget=forms.TextInput(attrs={"autofocus": True})
    )

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


class _RevokesTokens:
    """A saved new password (or a password taken away) ends every API session of its user, as on
    `me/password/`: a copied refresh token must not outlive the password it was obtained with."""

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            tokens.revoke_refresh_tokens(user)
        return user


class PasswordChangeForm(_RevokesTokens, OwnPasswordChangeForm):
    """The back office's "Change password" for one's own login."""


class PasswordSetForm(_RevokesTokens, SomeonesPasswordForm):
    """A platform administrator sets or removes someone's password from the Users page."""


class DateFormField(forms.DateField):
    """A date between 1900 and 2200, like every date the API takes: a form error, never a server
    error from the calendar arithmetic behind the form."""

    default_error_messages = {"out_of_range": DATE_RANGE_MESSAGE}

    def to_python(self, value):
        day = super().to_python(value)
        if day is not None and not in_range(day):
            raise ValidationError(self.error_messages["out_of_range"], code="out_of_range")
        return day


class SplitDateTimeFormField(forms.SplitDateTimeField):
    """The admin's date-and-time field, with the date between 1900 and 2200 (checked before the
    moment is moved into a time zone, which overflows at the calendar's ends)."""

    # The parent hands its own messages to its date and time fields: keep them.
    default_error_messages = {**forms.SplitDateTimeField.default_error_messages, "out_of_range": DATE_RANGE_MESSAGE}

    def compress(self, data_list):
        if data_list and data_list[0] is not None and not in_range(data_list[0]):
            raise ValidationError(self.error_messages["out_of_range"], code="out_of_range")
        return super().compress(data_list)
