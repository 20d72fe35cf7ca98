from django.contrib import admin
from django.contrib.auth.views import PasswordChangeView
from django.urls import reverse

from chama.forms import LoginForm, PasswordChangeForm

#: `panels(request) -> [HTML]` of the apps that draw the front page's dashboard (reporting
#: registers its own from `ready()`), so that this, the lowest app, imports none of them.
DASHBOARDS = []


def register_dashboard(panels):
    if panels not in DASHBOARDS:
        DASHBOARDS.append(panels)


class ChamaAdminSite(admin.AdminSite):
    site_header = "Chama Back Office"
    site_title = "Chama Back Office"
    index_title = "Your chamas"
    index_template = "admin/chama_index.html"
    login_form = LoginForm

    def index(self, request, extra_context=None):
        panels = [panel for draw in DASHBOARDS for panel in draw(request)]
        return super().index(request, {**(extra_context or {}), "dashboard_panels": panels})

    def password_change(self, request, extra_context=None):
        """Django's own view with a form that also ends the person's API sessions."""
        request.current_app = self.name
        return PasswordChangeView.as_view(
            form_class=PasswordChangeForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)
