from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django_rq.models import Dashboard

from chama import authority, login_security
from chama.admin_scoping import ChamaScopedAdmin
from chama.forms import PasswordSetForm, UserCreateForm, UserEditForm
from chama.models import DeadLetter, User
from chama.roles import MembershipStatus
from chama.tasks import dead_letter_retry


@admin.register(User)
class UserAdmin(ChamaScopedAdmin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreateForm
    change_password_form = PasswordSetForm
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
                "fields": [
                    "phone_number",
                    "first_name",
                    "last_name",
                    "email",
                    "id_number",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        )
    ]
    actions = ["unlock_login"]
    # Officers only view people, so the authority, not the change permission, offers this action.
    authority_actions = {"unlock_login": "unlock_login"}

    @admin.display(boolean=True, description="Locked")
    def locked(self, obj):
        return obj.is_locked

    @admin.action(description="Unlock login")
    def unlock_login(self, request, queryset):
        done = 0
        for user in queryset:
            try:
                self._unlock(user, request.user)
            except authority.Refused as refused:
                self.message_user(request, f"{user}: {refused.reason}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} login(s) unlocked.", messages.SUCCESS)

    @staticmethod
    def _unlock(user, by):
        """Unlock through a membership of `user` in a chama where `by` may unlock logins."""
        chama_ids = authority.chama_ids_for(by, "unlock_login")  # None: every chama (superusers)
        memberships = user.memberships.exclude(status=MembershipStatus.EXITED).select_related("chama", "user")
        if chama_ids is not None:
            memberships = memberships.filter(chama_id__in=chama_ids)
        membership = memberships.order_by("pk").first()
        if membership is not None:
            login_security.login_unlock(membership=membership, by=by)
        elif by.is_superuser:
            login_security.login_unlock_platform(user=user, by=by)
        else:
            raise authority.Refused("They are not a member of a chama where you may unlock logins.")


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


# django-rq's queue dashboard lets any staff user (officers too) read and requeue every chama's jobs:
# not in this back office. Platform staff watch the queue with `manage.py rqstats`.
if admin.site.is_registered(Dashboard):
    admin.site.unregister(Dashboard)


@admin.register(DeadLetter)
class DeadLetterAdmin(ChamaScopedAdmin):
    """Background tasks that failed on their last attempt. Platform staff only: a letter may carry
    any chama's or person's message. **Retry** sends the task back to the queue from its first attempt."""

    list_display = ["created_date", "task_path", "attempts", "short_error", "retried_date", "retried_by"]
    list_filter = ["task_path", ("retried_date", admin.EmptyFieldListFilter)]
    readonly_fields = [
        "task_path",
        "args",
        "kwargs",
        "attempts",
        "error",
        "created_date",
        "retried_date",
        "retried_by",
    ]
    actions = ["retry"]
    authority_actions = {"retry": "retry_dead_letters"}
    show_full_result_count = False

    @admin.display(description="error")
    def short_error(self, letter):
        return letter.error.splitlines()[0][:120] if letter.error else ""

    def has_add_permission(self, request, *args):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_retry_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    @admin.action(description="Retry the selected tasks", permissions=["retry"])
    def retry(self, request, queryset):
        retried = 0
        for letter in queryset.filter(retried_date__isnull=True):
            try:
                dead_letter_retry(letter=letter, by=request.user)
            except Exception as exc:  # the queue is down or the task is gone: say so, keep the letter
                self.message_user(request, f"{letter} could not be queued: {exc}", messages.ERROR)
            else:
                retried += 1
        self.message_user(request, f"{retried} task(s) sent back to the queue.", messages.SUCCESS)
