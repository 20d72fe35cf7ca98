"""The demo chamas' welfare: a scheme each, a bereavement claim paid out (its levy raised and
mostly paid), and a hospital claim under review with one approval."""

from datetime import timedelta
from decimal import Decimal

from django.core.files.base import ContentFile

from finance.models import Due
from finance.services import dues
from groups.models import Chama
from welfare import services
from welfare.models import Claim, WelfareScheme

BENEFITS = {
    Chama.Kind.VSLA: [
        ("death_member", "fixed", "15000"),
        ("death_spouse", "fixed", "8000"),
        ("death_child", "fixed", "5000"),
        ("death_parent", "fixed", "5000"),
        ("hospitalisation", "cap", "3000"),
    ],
    Chama.Kind.ROSCA: [
        ("death_member", "fixed", "20000"),
        ("death_parent", "fixed", "5000"),
        ("hospitalisation", "cap", "5000"),
    ],
}
PERMIT = b"%PDF-1.4\n% burial permit (demo)\n"


def add_welfare(chama, today):
    """Load the chama's welfare once; a chama that has a scheme already is left as it is."""
    if WelfareScheme.objects.filter(chama=chama).exists():
        return False
    members = list(chama.memberships.select_related("user", "chama").order_by("member_number"))
    officer = {m.role: m.user for m in members}
    rosca = chama.kind == Chama.Kind.ROSCA
    scheme = services.scheme_create(
        chama=chama,
        name="Bereavement and illness",
        by=officer["chairperson"],
        benefits=[(event, kind, Decimal(amount)) for event, kind, amount in BENEFITS[chama.kind]],
        dependants="Spouse, children under 25 and parents",
        # The merry-go-round keeps no social fund: its welfare is paid from a levy per event.
        levy_per_event=Decimal("500" if rosca else "100"),
        shortfall=WelfareScheme.Shortfall.PART_AND_LEVY if rosca else WelfareScheme.Shortfall.REFUSE,
    )
    plain = [m for m in members if m.role == "member"]
    bereaved, sick = plain[2], plain[5]
    paid = _claim(scheme, bereaved, "death_parent", today - timedelta(days=12), "Mother", "5000")
    services.claim_approve(claim=paid, by=officer["chairperson"])
    services.claim_approve(claim=paid, by=officer["secretary"])
    if rosca:  # the levy comes first; the fund pays once the members have paid it
        for membership in members[:-2]:
            dues.payment_record(
                membership=membership,
                amount=Decimal("500"),
                method="mpesa",
                by=officer["treasurer"],
                kinds=[Due.Kind.LEVY],
                reference=f"WLV{membership.pk:07d}",
            )
    # Umoja's social fund is collected in cash at its meetings; Tujenge's levy by M-Pesa.
    method = "mpesa" if rosca else "cash"
    services.claim_pay(claim=Claim.objects.get(pk=paid.pk), method=method, by=officer["treasurer"])
    under_review = _claim(scheme, sick, "hospitalisation", today - timedelta(days=3), "Herself", "4500")
    services.claim_approve(claim=under_review, by=officer["chairperson"])
    return True


def _claim(scheme, membership, event, day, beneficiary, amount):
    return services.claim_submit(
        scheme=scheme,
        membership=membership,
        event=event,
        event_date=day,
        beneficiary=beneficiary,
        amount_requested=Decimal(amount),
        by=membership.user,
        documents=[("Supporting letter", ContentFile(PERMIT, name="letter.pdf"))],
    )
