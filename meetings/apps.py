from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = "Meetings and governance"

    def ready(self):
        from finance.services import reconcile
        from meetings import attendance, authority, signals  # noqa: F401  (signals keep Membership.attendance_percentage)

        authority.register()
        authority.register_documents()

        reconcile.register(attendance.DRIFT_KIND)
