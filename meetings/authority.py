"""Meetings and votes: the secretariat (chairperson and secretary) runs them."""

from chama import authority
from chama.roles import OFFICER_ROLES, Role

SECRETARIAT = (Role.CHAIRPERSON, Role.SECRETARY)
MODELS = [
    "meeting",
    "agendaitem",
    "minutesattachment",
    "resolution",
    "actionitem",
    "attendance",
    "rsvp",
    "proposal",
    "vote",
]


def register():
    authority.register_action(
        "run_meeting",
        "call meetings, keep the register and minutes, and put proposals to a vote",
        SECRETARIAT,
        app="meetings",
        group="Meetings",
    )
    authority.grant_model_perms(OFFICER_ROLES, {f"meetings.{model}": {"view"} for model in MODELS})
    authority.grant_model_perms(
        SECRETARIAT,
        {f"meetings.{model}": {"view", "add", "change"} for model in MODELS if model not in ("rsvp", "vote")},
    )


def register_documents():
    from chama import downloads
    from meetings.models import MinutesAttachment

    downloads.register("minutes", MinutesAttachment, "document", filename=lambda row: row.title)
