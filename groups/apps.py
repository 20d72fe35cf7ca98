from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = "Chamas and members"

    def ready(self):
        from groups import authority, signals  # noqa: F401  (signals connect the members_count receivers)

        authority.register()
        authority.register_documents()
