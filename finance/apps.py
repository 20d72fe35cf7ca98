from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = "Money"

    def ready(self):
        from finance import authority

        authority.register()
        authority.register_documents()
