"""Second signatures (maker–checker): when one is needed, and asking the officers who may give it
(for membership changes here, for money in finance).

The chama's threshold applies to the total for one member over the policy's window (default 30
days), so a sum split into parts below the threshold still needs a second officer. The second
officer signs through their own login (an API call or an admin button), never by being named in
someone else's request.
"""

from datetime import timedelta

from chama import authority
from chama.models import Notification
from chama.money import ZERO
from chama.notify import notify
from groups import selectors


def window_start(chama):
    """The first day of the window over which one member's amounts are added up."""
    return chama.today() - timedelta(days=chama.policy.approval_window_days)


def needs_second(chama, amount, earlier=ZERO):
    """Whether `amount`, with what the same member had in the window (`earlier`), passes the threshold."""
    return earlier + amount > chama.policy.second_approval_threshold


def signers(row, action, exclude=()):
    """The active officers who may give the second signature on `row` (not `exclude`)."""
    chama = row.chama
    officers = selectors.officers_for(chama=chama, action=action).exclude(
        user_id__in=[pk for pk in exclude if pk is not None]
    )
    return [m for m in officers if authority.may(m.user, action, row)]


def signer_names(row, action, exclude=()):
    """The names of those who may still sign, for a pending item's page."""
    return [membership.user.get_full_name() for membership in signers(row, action, exclude)]


def ask(row, action, *, asked_by, what, key):
    """Tell each officer who may sign that `what` waits for them (once per item)."""
    chama = row.chama
    asker = authority.person(asked_by)
    for membership in signers(row, action, exclude=[getattr(asker, "pk", None)]):
        notify(
            membership.user,
            kind=Notification.Kind.SIGNATURE,
            dedupe_key=f"sign-{key}",
            title=f"{chama}: {what} waits for your signature",
            body=f"{asker.get_full_name() if asker else 'The platform'} asked for {what}. "
            f"Approve or reject it in the back office or the app; it needs an officer other than them.",
        )
