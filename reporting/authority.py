"""Reports read the books: the officers who may see the chama's books see its statements."""

from chama import authority
from chama.roles import OFFICER_ROLES


def register():
    authority.grant_model_perms(
        OFFICER_ROLES, {"reporting.financialstatement": {"view"}, "reporting.monthlysnapshot": {"view"}}
    )
