from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = "Meetings and governance"

    def ready(self):
        from finance.services import reconcile
        from meetings import attendance, signals  # noqa: F401  (signals keep Membership.attendance_percentage)

        reconcile.register(attendance.reconcile_drift)
