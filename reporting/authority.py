"""Reports read the books: the officers who may see the chama's books see its statements."""

from chama import authority
from chama.roles import OFFICER_ROLES


def register():
    authority.grant_model_perms(
        OFFICER_ROLES,
        {
            "reporting.financialstatement": {"view"},
            "reporting.monthlysnapshot": {"view"},
            "reporting.generatedreport": {"view", "add"},
        },
    )


def register_documents():
    """A generated report: the officers who read the books, and the member whose statement it is;
    each download counted, none after its expiry."""
    from chama import downloads
    from reporting.generation import served
    from reporting.models import GeneratedReport

    downloads.register(
        "report",
        GeneratedReport,
        "file",
        action="view_books",
        readers=lambda row: {row.membership.user_id} if row.membership_id else set(),
        filename=lambda row: f"{row.chama.name} {row.report} {row.created_date:%Y-%m-%d}",
        on_serve=served,
    )
