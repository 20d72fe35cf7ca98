from django.contrib import admin

from chama.forms import LoginForm


class ChamaAdminSite(admin.AdminSite):
    site_header = "Chama Back Office"
    site_title = "Chama Back Office"
    index_title = "Your chamas"
    login_form = LoginForm
