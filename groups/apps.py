from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = "Chamas and members"

    def ready(self):
        from groups import signals  # noqa: F401  (connects the members_count receivers)
