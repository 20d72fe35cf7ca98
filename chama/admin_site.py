from django.contrib import admin
from django.contrib.auth.views import PasswordChangeView
from django.urls import reverse

from chama.forms import LoginForm, PasswordChangeForm


class ChamaAdminSite(admin.AdminSite):
    site_header = "Chama Back Office"
    site_title = "Chama Back Office"
    index_title = "Your chamas"
    login_form = LoginForm

    def password_change(self, request, extra_context=None):
        """Django's own view with a form that also ends the person's API sessions."""
        request.current_app = self.name
        return PasswordChangeView.as_view(
            form_class=PasswordChangeForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)
