from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reports"

    def ready(self):
        from reporting import authority

        authority.register()
