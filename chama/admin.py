from auditlog.admin import LogEntryAdmin
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from auditlog.models import LogEntry
from chama import login_security
from chama.admin_scoping import ChamaScopedAdmin
from chama.forms import UserCreateForm, UserEditForm
from chama.models import User


@admin.register(User)
class UserAdmin(ChamaScopedAdmin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreateForm
    ordering = ["first_name", "last_name"]
    list_display = ["phone_number", "first_name", "last_name", "email", "kyc_status", "is_staff", "is_active", "locked"]
    list_filter = ["kyc_status", "is_staff", "is_active", "is_superuser"]
    search_fields = ["phone_number", "first_name", "last_name", "email", "id_number"]
    readonly_fields = ["last_login", "created_date", "updated_date", "failed_login_attempts"]
    fieldsets = [
        (None, {"fields": ["phone_number", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email", "id_number", "kyc_status"]}),
        ("Security", {"fields": ["is_active", "failed_login_attempts", "account_locked_until", "last_login"]}),
        (
            "Platform permissions",
            {
                "fields": ["is_staff", "is_superuser", "groups", "user_permissions"],
                "classes": ["collapse"],
                "description": "Officers get their back-office rights from their role in each chama, not from here.",
            },
        ),
        ("Record", {"fields": ["created_date", "updated_date"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["phone_number", "first_name", "last_name", "email", "id_number", "usable_password", "password1", "password2"],
            },
        )
    ]
    actions = ["unlock_accounts"]

    @admin.display(boolean=True, description="Locked")
    def locked(self, obj):
        return obj.is_locked

    @admin.action(description="Unlock selected accounts", permissions=["change"])
    def unlock_accounts(self, request, queryset):
        self.run_service_per_row(request, queryset, login_security.unlock, "{count} account(s) unlocked.")


admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditLogAdmin(ChamaScopedAdmin, LogEntryAdmin):
    """Who changed what, when and from where; officers see their own chamas' history."""

    list_display = ["created", "resource_url", "action", "msg_short", "user_url", "remote_addr"]
    readonly_fields = [*LogEntryAdmin.readonly_fields, "remote_addr"]
    fieldsets = [
        (None, {"fields": ["created", "user_url", "remote_addr", "resource_url", "cid"]}),
        ("Changes", {"fields": ["action", "msg"]}),
    ]
    show_full_result_count = False
