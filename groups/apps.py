from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = "Chamas and members"

    def ready(self):
        from groups import authority, security, signals  # noqa: F401  (their receivers connect on import)

        authority.register()
        authority.register_documents()
