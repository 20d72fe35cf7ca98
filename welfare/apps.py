from django.apps import AppConfig


class WelfareConfig(AppConfig):
    name = "welfare"
    verbose_name = "Welfare"

    def ready(self):
        from welfare import authority

        authority.register()
        authority.register_documents()
