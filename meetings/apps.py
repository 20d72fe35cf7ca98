from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = "Meetings and governance"

    def ready(self):
        from finance.services import reconcile
        from meetings import attendance, authority, jobs, signals  # noqa: F401  (signals keep Membership.attendance_percentage)

        authority.register()
        authority.register_documents()
        jobs.register()

        reconcile.register(attendance.DRIFT_KIND)
