from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reports"

    def ready(self):
        from django.contrib import admin

        from chama.admin_site import register_dashboard
        from reporting import authority, dashboard, exports, jobs

        authority.register()
        authority.register_documents()
        jobs.register()
        register_dashboard(dashboard.panels)
        exports.register(admin.site)
