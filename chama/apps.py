from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ChamaConfig(AppConfig):
    default = True
    name = "chama"
    verbose_name = "People and audit"

    def ready(self):
        from django.core import checks

        # Importing the schema module registers the OpenAPI authentication extension.
        from chama import downloads, grants
        from chama.api import fields, schema  # noqa: F401

        grants.register()
        checks.register(downloads.check_documents_registered)
        fields.map_model_fields()


class ChamaAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the back office's own site (branding, login by phone or email)."""

    default = False
    default_site = "chama.admin_site.ChamaAdminSite"
