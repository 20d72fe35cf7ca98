"""What the chama core grants officers in the back office (people and the audit log)."""

from chama import authority
from chama.roles import OFFICER_ROLES


def register():
    authority.grant_model_perms(OFFICER_ROLES, {"chama.user": {"view"}, "auditlog.logentry": {"view"}})
    # Dead letters may carry any chama's or person's message: platform staff only, no role.
    authority.register_action(
        "retry_dead_letters",
        "send failed background tasks back to the queue",
        (),
        app="chama",
        group="The platform",
    )
