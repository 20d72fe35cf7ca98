"""Who may do what with welfare: officers keep the schemes and decide claims, the treasurer and
chairperson pay them; nobody decides or pays their own claim."""

from chama import authority
from chama.roles import OFFICER_ROLES, Role

MONEY_OFFICERS = (Role.CHAIRPERSON, Role.TREASURER)
MODELS = ["welfarescheme", "benefit", "claim", "decision", "claimdocument", "claimpayment"]


def claimant_of(row):
    """A claim's member (a decision or a document: its claim's)."""
    claim = getattr(row, "claim", row)
    return {claim.membership.user_id} if claim.membership_id else set()


def register():
    def action(name, label, roles, **options):
        authority.register_action(name, label, roles, app="welfare", group="Welfare", **options)

    action("manage_welfare", "set up welfare schemes and their benefits", OFFICER_ROLES)
    action(
        "decide_claim",
        "review, approve or reject welfare claims, or declare a conflict",
        OFFICER_ROLES,
        money=True,
        owner=claimant_of,
    )
    action("pay_claim", "pay approved welfare claims out of the fund", MONEY_OFFICERS, money=True, owner=claimant_of)
    authority.grant_model_perms(OFFICER_ROLES, {f"welfare.{model}": {"view"} for model in MODELS})
    authority.grant_model_perms(
        OFFICER_ROLES,
        {"welfare.welfarescheme": {"view", "add", "change"}, "welfare.benefit": {"view", "add", "change"}},
    )
    authority.grant_model_perms(OFFICER_ROLES, {"welfare.claim": {"view", "add", "change"}})


def register_documents():
    """A claim's documents: the officers who decide it, and the claimant."""
    from chama import downloads
    from welfare.models import ClaimDocument

    downloads.register(
        "welfare-document",
        ClaimDocument,
        "document",
        action="decide_claim",
        readers=claimant_of,
        filename=lambda row: row.title,
    )
