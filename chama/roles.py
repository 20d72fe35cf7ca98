"""Roles a person holds in a chama, and which kinds of record each role may touch.

The membership says *in which chama* a person holds a role; this table says *what* the role may
do there. Permissions are Django's "app_label.action_model" strings, so the admin's own checks
and `user.has_perm()` understand them.
"""

from django.db import models


class Role(models.TextChoices):
    CHAIRPERSON = "chairperson", "Chairperson"
    TREASURER = "treasurer", "Treasurer"
    SECRETARY = "secretary", "Secretary"
    MEMBER = "member", "Member"


class MembershipStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    EXITED = "exited", "Exited"


OFFICER_ROLES = frozenset({Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY})
# Officers who run the register of members: admit, invite, change roles and status.
MEMBER_MANAGER_ROLES = frozenset({Role.CHAIRPERSON, Role.SECRETARY})

_VIEW = {"view"}
_MANAGE = {"view", "add", "change"}

_EVERY_OFFICER = {
    "groups.chama": _VIEW,
    "groups.policy": _VIEW,
    "groups.membership": _VIEW,
    "groups.joinrequest": _VIEW,
    "groups.invitation": _VIEW,
    "chama.user": _VIEW,
    "auditlog.logentry": _VIEW,
}

_ROLE_GRANTS = {
    Role.CHAIRPERSON: {
        "groups.chama": {"view", "change"},
        "groups.policy": {"view", "change"},
        "groups.membership": _MANAGE,
        "groups.joinrequest": {"view", "change"},
        "groups.invitation": _MANAGE,
    },
    Role.SECRETARY: {
        "groups.membership": _MANAGE,
        "groups.joinrequest": {"view", "change"},
        "groups.invitation": _MANAGE,
    },
    Role.TREASURER: {},
    Role.MEMBER: {},
}


def _expand(grants):
    perms = set()
    for label, actions in grants.items():
        app_label, model = label.split(".")
        perms.update(f"{app_label}.{action}_{model}" for action in actions)
    return frozenset(perms)


ROLE_PERMISSIONS = {
    role: _expand({**(_EVERY_OFFICER if role in OFFICER_ROLES else {}), **grants})
    for role, grants in _ROLE_GRANTS.items()
}
