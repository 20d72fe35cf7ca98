from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend

from chama import authority, login_security, tenancy


class PhoneOrEmailBackend(ModelBackend):
    """Log in with a phone number (any common format) or an email, with lockout."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        login = username or kwargs.get(get_user_model().USERNAME_FIELD)
        if login is None or password is None:
            return None
        user = login_security.find_user_by_login(str(login))
        if user is None or user.is_locked:
            # Spend the same time as a real check so response times reveal neither who is
            # registered nor whose account is locked.
            login_security.spend_hashing_time(password)
            return None
        if not user.check_password(password):
            login_security.register_failure(user)
            return None
        if not self.user_can_authenticate(user):
            return None
        login_security.register_success(user)
        return user


class RolePermissionBackend(BaseBackend):
    """Grants the permissions of the roles a person holds in their active memberships.

    Without an object this answers "may this kind of record be touched at all" (the union over
    the person's chamas); object checks go through `authority.has_model_perm` with the row's chama.
    """

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous:
            return set()
        perms = set()
        for role in tenancy.chama_roles(user_obj).values():
            perms |= authority.role_permissions(role)
        return perms

    def has_perm(self, user_obj, perm, obj=None):
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj, app_label):
        return any(perm.startswith(f"{app_label}.") for perm in self.get_all_permissions(user_obj))
