"""What the chama core grants officers in the back office (people and the audit log)."""

from chama import authority
from chama.roles import OFFICER_ROLES


def register():
    authority.grant_model_perms(OFFICER_ROLES, {"chama.user": {"view"}, "auditlog.logentry": {"view"}})
