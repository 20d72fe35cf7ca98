from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reports"

    def ready(self):
        from chama.admin_site import register_dashboard
        from reporting import authority, dashboard, jobs

        authority.register()
        jobs.register()
        register_dashboard(dashboard.panels)
