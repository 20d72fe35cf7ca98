from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = "Money"

    def ready(self):
        from finance import authority, jobs, receivers
        from finance.signals import journal_posted

        authority.register()
        authority.register_documents()
        jobs.register()
        journal_posted.connect(receivers.queue_receipt, dispatch_uid="finance.queue_receipt")
