"""factory-boy factories. `make_row(model, chama)` builds one row of any tenant model for a chama;
the cross-chama sweep uses it to put rows of every kind in two chamas."""

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import factory
from django.contrib.auth import get_user_model

from chama.roles import Role
from groups import services
from groups.models import Chama, Invitation, JoinRequest, Membership, MembershipChangeRequest, Policy, SecurityEvent

PASSWORD = "pass-1234"


FOUNDED = date(2025, 1, 1)  # test chamas were founded before any test's money


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    phone_number = factory.Sequence(lambda n: f"+2547{n:08d}")
    email = factory.Sequence(lambda n: f"person{n}@example.co.ke")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ChamaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Chama

    name = factory.Sequence(lambda n: f"Chama {n}")
    kind = Chama.Kind.VSLA
    category = Chama.Category.SAVINGS
    status = Chama.Status.ACTIVE
    founded_date = FOUNDED

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.chama_create(**kwargs)


class MembershipFactory(factory.django.DjangoModelFactory):
    """An active membership, admitted through the service (so members_count moves)."""

    class Meta:
        model = Membership

    chama = factory.SubFactory(ChamaFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.admit_member(**kwargs)


class JoinRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JoinRequest

    chama = factory.SubFactory(ChamaFactory)
    user = factory.SubFactory(UserFactory)
    message = "I would like to join."


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    chama = factory.SubFactory(ChamaFactory)
    phone_number = factory.Sequence(lambda n: f"+2547{90000000 + n:08d}")
    role = Role.MEMBER
    invited_by = factory.SubFactory(UserFactory)


class MembershipChangeRequestFactory(factory.django.DjangoModelFactory):
    """A chairperson's suspension waiting for a second officer."""

    class Meta:
        model = MembershipChangeRequest

    chama = factory.SubFactory(ChamaFactory)
    membership = factory.SubFactory(MembershipFactory, chama=factory.SelfAttribute("..chama"), role=Role.CHAIRPERSON)
    kind = MembershipChangeRequest.Kind.STATUS
    previous_value = "active"
    requested_value = "suspended"
    requested_by = factory.SubFactory(UserFactory)


JOINED = date(2026, 1, 10)  # when most test members joined: before any test's money and loan rules


def joined(chama, role=Role.MEMBER, on=JOINED, **user_fields):
    """The active membership of a new person in `chama`, who joined on `on`."""
    return MembershipFactory(chama=chama, role=role, user=UserFactory(**user_fields), joined_date=on)


LOAN_PRODUCT = dict(
    interest_method="flat",
    interest_rate=Decimal("1"),
    rate_period="month",
    repayment_frequency="monthly",
    min_installments=1,
    max_installments=12,
    min_amount=Decimal("1000"),
    max_amount=Decimal("50000"),
    fee_kind="percent",
    fee_value=Decimal("2"),
    fee_mode="deducted",
    penalty_kind="percent",
    penalty_value=Decimal("5"),
    penalty_grace_days=3,
    installment_multiple=Decimal("1"),
)
# "Biashara": LOAN_PRODUCT at 12% a year on the declining balance, with one guarantor covering 50%.
BIASHARA = dict(
    interest_method="declining_balance",
    interest_rate=Decimal("12"),
    rate_period="year",
    guarantors_required=1,
    guarantee_coverage=Decimal("50"),
)
LOAN_POLICY = {
    "loan_approvals_required": 2,
    "loan_min_membership_days": 90,
    "loan_max_savings_multiple": Decimal("3"),
    "loan_max_concurrent": 1,
    "loan_default_days": 90,
}


def loan_product(chama, name, **overrides):
    """A flat 1%-a-month loan product, 1 to 12 monthly installments of KES 1,000 to 50,000, a 2%
    fee deducted at disbursement and a 5% penalty after 3 days' grace, unless `overrides` say otherwise."""
    from finance.models import LoanProduct

    return LoanProduct.objects.create(chama=chama, name=name, **{**LOAN_PRODUCT, **overrides})


def biashara_product(chama, **overrides):
    """The "Biashara" product: 12% a year on the declining balance, otherwise loan_product's terms,
    with one guarantor covering 50% of the principal, unless `overrides` say otherwise."""
    return loan_product(chama, "Biashara", **{**BIASHARA, **overrides})


def loan_row(membership, product_name="Emergency", **fields):
    """A stored loan of 1,000 over 2 monthly installments, 1% a month flat, of `membership` on a new
    loan_product (from 100), saved as a row without the lending services (no journals): for tests
    about who may see or act on it. `fields` set more of the loan (its status)."""
    from finance.models import Loan

    product = loan_product(membership.chama, product_name, min_amount=Decimal("100"))
    return Loan.objects.create(
        chama=membership.chama,
        membership=membership,
        product=product,
        principal=Decimal("1000"),
        interest_method="flat",
        interest_rate=Decimal("1"),
        rate_period="month",
        repayment_frequency="monthly",
        installments_count=2,
        applied_by=membership.user,
        rounding=product.rounding,
        installment_multiple=product.installment_multiple,
        fee_mode=product.fee_mode,
        **fields,
    )


def loan_shop(*, secretary_savings=None, **policy):
    """A chama lending under LOAN_POLICY (2 approvals, 90 days of membership, 3 × savings, one loan
    at a time, default after 90 days; `policy` overrides) with a chairperson, a treasurer and a
    secretary, and three members who saved in cash: Wanjiku 10,000, Otieno 5,000, Achieng 2,000
    (and the secretary `secretary_savings`, when given)."""
    from finance.services import savings

    chama = ChamaFactory(policy={**LOAN_POLICY, **policy})
    chair, treasurer, secretary = (
        joined(chama, Role.CHAIRPERSON),
        joined(chama, Role.TREASURER),
        joined(chama, Role.SECRETARY),
    )
    wanjiku, otieno, achieng = joined(chama), joined(chama), joined(chama)
    deposits = [(wanjiku, "10000"), (otieno, "5000"), (achieng, "2000")]
    if secretary_savings is not None:
        deposits.append((secretary, secretary_savings))
    for who, amount in deposits:
        savings.savings_deposit(membership=who, amount=amount, method="cash", by=treasurer.user)
    return SimpleNamespace(
        chama=chama,
        chair=chair,
        treasurer=treasurer,
        secretary=secretary,
        wanjiku=wanjiku,
        otieno=otieno,
        achieng=achieng,
    )


def loan_applied(s, principal="3000", installments=3, *, who=None, product=None, guarantors=(), by=None):
    """On loan_shop `s`: `who` (Wanjiku unless named) applies for `principal` over `installments` on
    `product` (the shop's `product` unless named) with `guarantors`, entered by `by` (the borrower)."""
    from finance.services import loans

    who = who or s.wanjiku
    return loans.loan_apply(
        membership=who,
        product=product or s.product,
        principal=principal,
        installments=installments,
        by=by or who.user,
        guarantors=guarantors,
    )


def loan_running(s, principal="3000", installments=3, *, on=date(2026, 6, 1), who=None, product=None, guarantors=()):
    """loan_applied, its guarantees accepted, approved by the chairperson and the treasurer and
    disbursed in cash on `on` (the chama's clock moved to that day)."""
    from finance.models import Loan
    from finance.services import loans
    from tests.helpers import today_is

    loan = loan_applied(s, principal, installments, who=who, product=product, guarantors=guarantors)
    for guarantee in loan.guarantees.select_related("guarantor__user"):
        loans.guarantee_accept(guarantee=guarantee, by=guarantee.guarantor.user)
    loans.loan_approve(loan=loan, by=s.chair.user)
    loans.loan_approve(loan=loan, by=s.treasurer.user)
    today_is(on)
    loans.loan_disburse(loan=loan, by=s.treasurer.user, method="cash", value_date=on)
    return Loan.objects.get(pk=loan.pk)


def backdating_approved(chama, earliest_date):
    """An approval in force for `chama` to date money back to `earliest_date`, as if its chairperson
    had asked and another officer approved (tests that post old history; the approval itself is
    tested through its services)."""
    from django.utils import timezone

    from finance.models import BackdatingApproval

    return BackdatingApproval.objects.create(
        chama=chama,
        earliest_date=earliest_date,
        reason="Entering the paper books",
        requested_by=UserFactory(),
        status=BackdatingApproval.Status.APPROVED,
        decided_by=UserFactory(),
        decided_date=timezone.now(),
        expires_date=timezone.now() + timedelta(days=7),
    )


def member(chama, role=Role.MEMBER, **user_fields):
    """A person who is an active member of `chama` with `role`."""
    return MembershipFactory(chama=chama, role=role, user=UserFactory(**user_fields)).user


def _user_in(chama):
    return member(chama)


def _policy_of(chama):
    return Policy.objects.get(chama=chama)


def _security_event_of(chama):
    return SecurityEvent.objects.create(chama=chama, kind="refused", user=_user_in(chama), detail="record_payment")


def money_rows(chama):
    """One of every money row in `chama`, made once per chama through the services."""
    if getattr(chama, "_money_rows", None):
        return chama._money_rows
    from finance import models as fm
    from finance.services import backdating, books, dues, loans, mpesa, savings

    policy = chama.policy
    policy.contribution_amount, policy.share_price, policy.late_fine_amount = (
        Decimal("500"),
        Decimal("100"),
        Decimal("50"),
    )
    policy.save()
    chair = member(chama, Role.CHAIRPERSON)
    treasurer = member(chama, Role.TREASURER)
    # The fines below are dated in February: further back than the window.
    approval = backdating.backdating_request(
        chama=chama, earliest_date=date(2026, 1, 1), reason="Paper books", by=chair
    )
    backdating.backdating_approve(approval=approval, by=treasurer)
    payer = MembershipFactory(chama=chama, joined_date=date(2026, 1, 1))
    plan = dues.contribution_plan_from_policy(chama, start_date=date(2026, 1, 1))
    dues.generate_dues(period=(2026, 1), chama=chama)
    dues.apply_penalties(as_of=date(2026, 2, 20), chama=chama)
    payment = dues.payment_record(membership=payer, amount="300", method="cash", by=treasurer)
    fine = fm.Due.objects.filter(membership=payer, kind=fm.Due.Kind.FINE).first()
    waiver = dues.waiver_request(due=fine, reason="first offence", by=treasurer)
    savings.share_purchase(membership=payer, shares=2, method="cash", by=treasurer)
    savings.savings_deposit(membership=payer, amount="2000", method="bank", by=treasurer)
    withdrawal = savings.withdrawal_request(membership=payer, amount="100", by=payer.user)
    expense = books.expense_record(
        chama=chama, category="stationery", amount="50", description="Receipt book", by=treasurer
    )
    income = books.income_record(
        chama=chama, category="bank_interest", amount="12.50", description="Interest", by=treasurer
    )
    investment = fm.Investment.objects.create(
        chama=chama, name="Plot in Juja", type="land", acquired_date=date(2026, 3, 1)
    )
    movement = books.investment_add_funds(investment=investment, amount="1000", by=chair, paid_through="bank")
    channel = fm.MpesaChannel.objects.create(chama=chama, shortcode=f"60{chama.pk:04d}")
    receipt_fields = {
        "receipt_number": f"QX{chama.pk:08d}",
        "amount": Decimal("250"),
        "phone_number": "+254799999999",
        "account_reference": "nobody",
        "payer_name": "Unknown",
        "transaction_time": None,
    }
    receipt = mpesa.receive(channel=channel, source="c2b", payload={}, fields=receipt_fields)
    mpesa.receive(
        channel=channel,
        source="c2b",
        payload={"TransAmount": "2500"},
        fields={**receipt_fields, "amount": Decimal("2500")},
    )  # a replay with another amount: a conflict
    product = fm.LoanProduct.objects.create(
        chama=chama,
        name="Emergency",
        interest_rate=Decimal("1"),
        max_amount=Decimal("5000"),
        min_installments=1,
        max_installments=6,
        guarantors_required=1,
        guarantee_coverage=Decimal("10"),
    )
    borrower = MembershipFactory(chama=chama, joined_date=date(2025, 1, 1))
    savings.savings_deposit(membership=borrower, amount="3000", method="cash", by=treasurer)
    loan = loans.loan_apply(
        membership=borrower,
        product=product,
        principal="1000",
        installments=2,
        by=borrower.user,
        guarantors=[(payer, "100")],
    )
    guarantee = loans.guarantee_accept(guarantee=loan.guarantees.get(), by=payer.user)
    loans.loan_approve(loan=loan, by=chair)
    loans.loan_approve(loan=loan, by=treasurer)
    loans.loan_disburse(loan=loan, by=treasurer, method="cash")
    loans.loan_repay(loan=loan, amount="200", method="cash", by=treasurer)
    collateral = fm.Collateral.objects.create(
        chama=chama, loan=loan, description="Logbook KCA 123X", value=Decimal("300000")
    )
    stk = fm.StkRequest.objects.create(
        chama=chama,
        membership=payer,
        phone_number="+254700000001",
        amount=Decimal("10"),
        checkout_request_id=f"ws_CO_{chama.pk}",
        requested_by=payer.user,
    )
    # A draft merry-go-round (whatever the chama's kind: the row's shape is what the sweeps need).
    cycle = fm.RoscaCycle.objects.create(
        chama=chama,
        name="Merry-go-round",
        contribution=Decimal("500"),
        start_date=date(2026, 3, 1),
        created_by=treasurer,
    )
    slot = fm.RosterSlot.objects.create(chama=chama, cycle=cycle, membership=payer, position=1)
    rosca_payout = fm.RoscaPayout.objects.create(
        chama=chama,
        cycle=cycle,
        slot=slot,
        membership=payer,
        amount=Decimal("500"),
        method="cash",
        value_date=date(2026, 3, 1),
        recorded_by=treasurer,
    )
    savings_cycle = fm.SavingsCycle.objects.create(
        chama=chama,
        name="2026",
        share_price=Decimal("100"),
        start_date=date(2026, 1, 1),
        planned_end_date=date(2026, 12, 31),
        opened_by=treasurer,
    )
    share_out = fm.ShareOut.objects.create(
        chama=chama,
        cycle=savings_cycle,
        membership=payer,
        method="cash",
        value_date=date(2026, 3, 1),
        requested_by=treasurer,
    )
    chama._money_rows = {
        fm.Account: fm.Account.objects.filter(chama=chama, membership=payer).first(),
        fm.BackdatingApproval: approval,
        fm.Journal: payment,
        fm.LedgerChain: fm.LedgerChain.objects.get(pk=chama.pk),
        fm.Entry: payment.entries.first(),
        fm.Due: fine,
        fm.DueAllocation: fine.allocations.first(),
        fm.Waiver: waiver,
        fm.ContributionPlan: plan,
        fm.SavingsType: fm.SavingsType.objects.get(chama=chama),
        fm.SharePurchase: fm.SharePurchase.objects.filter(chama=chama).first(),
        fm.Withdrawal: withdrawal,
        fm.Expense: expense,
        fm.Income: income,
        fm.Investment: investment,
        fm.InvestmentMovement: movement,
        fm.MpesaChannel: channel,
        fm.MpesaReceipt: receipt,
        fm.MpesaConflict: receipt.conflicts.get(),
        fm.StkRequest: stk,
        fm.LoanProduct: product,
        fm.Loan: loan,
        fm.Guarantee: guarantee,
        fm.LoanApproval: loan.approvals.first(),
        fm.Installment: loan.installments.first(),
        fm.RepaymentLine: loan.repayment_lines.first(),
        fm.Collateral: collateral,
        fm.RoscaCycle: cycle,
        fm.RosterSlot: slot,
        fm.RoscaPayout: rosca_payout,
        fm.RosterChange: fm.RosterChange.objects.create(
            chama=chama, cycle=cycle, kind="defer", membership=payer, status="waiting_officer"
        ),
        fm.RoscaBid: fm.RoscaBid.objects.create(
            chama=chama, cycle=cycle, position=1, membership=payer, discount=Decimal("50")
        ),
        fm.RoscaExit: fm.RoscaExit.objects.create(
            chama=chama,
            cycle=cycle,
            membership=payer,
            kind="waiting",
            position=1,
            reason="Moved away",
            recorded_by=treasurer,
        ),
        fm.SavingsCycle: savings_cycle,
        fm.ShareOut: share_out,
        fm.ShareOutChoice: fm.ShareOutChoice.objects.create(
            chama=chama, cycle=savings_cycle, membership=payer, choice="rollover"
        ),
        fm.ShareOutLine: fm.ShareOutLine.objects.create(
            chama=chama,
            share_out=share_out,
            membership=payer,
            shares=5,
            savings=Decimal("500"),
            profit_share=Decimal("50"),
            deductions=Decimal("0"),
            net_payout=Decimal("550"),
        ),
    }
    return chama._money_rows


def meeting_rows(chama):
    """One of every meetings row in `chama`, made once per chama through the services."""
    if getattr(chama, "_meeting_rows", None):
        return chama._meeting_rows

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from chama.notify import notify
    from meetings import models as mm
    from meetings import services

    secretary = member(chama, Role.SECRETARY)
    attendee = MembershipFactory(chama=chama)
    past = services.meeting_create(
        chama=chama,
        by=secretary,
        title="Regular meeting",
        agenda=["Contributions"],
        starts_at=timezone.now() - timedelta(days=7),
    )
    services.register_save(meeting=past, by=secretary, entries={attendee.pk: {"status": "present"}})
    upcoming = services.meeting_create(
        chama=chama, by=secretary, title="Next meeting", starts_at=timezone.now() + timedelta(days=7)
    )
    rsvp = services.rsvp(meeting=upcoming, membership=attendee, response="attending")
    proposal = services.proposal_create(
        chama=chama,
        by=secretary,
        title="Buy a tent",
        opens_at=timezone.now() - timedelta(hours=1),
        closes_at=timezone.now() + timedelta(days=3),
    )
    vote = services.vote_cast(proposal=proposal, membership=attendee, choice="yes")
    chama._meeting_rows = {
        mm.Meeting: past,
        mm.AgendaItem: past.agenda.first(),
        mm.Attendance: past.attendance.first(),
        mm.Rsvp: rsvp,
        mm.Resolution: mm.Resolution.objects.create(chama=chama, meeting=past, text="Contributions rise to 600."),
        mm.ActionItem: mm.ActionItem.objects.create(
            chama=chama, meeting=past, description="Open a bank account", owner=attendee
        ),
        mm.MinutesAttachment: mm.MinutesAttachment.objects.create(
            chama=chama, meeting=past, title="Signed minutes", document=SimpleUploadedFile("minutes.pdf", b"%PDF-1.4")
        ),
        mm.Proposal: proposal,
        mm.EligibleVoter: proposal.eligible_voters.first(),
        mm.Vote: vote,
    }
    notify(attendee.user, title="Welcome", body=f"Welcome to {chama}.")
    return chama._meeting_rows


def _notification_of(chama):
    from chama.models import Notification

    meeting_rows(chama)
    return Notification.objects.filter(user__memberships__chama=chama).first()


def _money_row(model):
    return lambda chama: money_rows(chama)[model]


ROW_MAKERS = {
    Chama: None,  # the chama itself
    Policy: _policy_of,
    SecurityEvent: _security_event_of,
    get_user_model(): _user_in,
}
ROW_MAKERS.update(
    {
        factory_class._meta.model: factory_class
        for factory_class in (MembershipFactory, JoinRequestFactory, InvitationFactory, MembershipChangeRequestFactory)
    }
)


def _register_money_rows():
    from finance import models as fm

    for name in fm.__all__:
        model = getattr(fm, name)
        if hasattr(model, "_meta"):
            ROW_MAKERS[model] = _money_row(model)


_register_money_rows()


def _register_meeting_rows():
    from chama.models import Notification
    from meetings import models as mm

    for model in (
        mm.Meeting,
        mm.AgendaItem,
        mm.Attendance,
        mm.Rsvp,
        mm.Resolution,
        mm.ActionItem,
        mm.MinutesAttachment,
        mm.Proposal,
        mm.EligibleVoter,
        mm.Vote,
    ):
        ROW_MAKERS[model] = lambda chama, model=model: meeting_rows(chama)[model]
    ROW_MAKERS[Notification] = _notification_of


_register_meeting_rows()


def make_row(model, chama):
    """One row of `model` owned by `chama`, or None when no maker is known for the model."""
    if model not in ROW_MAKERS:
        return None
    maker = ROW_MAKERS[model]
    if maker is None:
        return chama
    if isinstance(maker, type) and issubclass(maker, factory.Factory):
        return maker(chama=chama)
    return maker(chama)


def welfare_rows(chama):
    """One of every welfare row in `chama`, made once per chama through the services."""
    if getattr(chama, "_welfare_rows", None):
        return chama._welfare_rows

    from django.core.files.uploadedfile import SimpleUploadedFile

    from finance.models import ContributionPlan
    from finance.services import dues
    from welfare import models as wm
    from welfare import services

    chair = member(chama, Role.CHAIRPERSON)
    treasurer = member(chama, Role.TREASURER)
    secretary = member(chama, Role.SECRETARY)
    claimant = MembershipFactory(chama=chama, joined_date=date(2025, 1, 1))
    ContributionPlan.objects.create(
        chama=chama, name="Welfare", amount=Decimal("1000"), target="welfare", start_date=date(2026, 1, 1)
    )
    dues.generate_dues(chama=chama)
    dues.payment_record(membership=claimant, amount=Decimal("1000"), method="cash", by=treasurer)
    scheme = services.scheme_create(
        chama=chama, name="Welfare", by=chair, benefits=[("birth", "fixed", Decimal("500"))], waiting_days=0
    )
    claim = services.claim_submit(
        scheme=scheme,
        membership=claimant,
        event="birth",
        event_date=chama.today(),
        beneficiary="A daughter",
        amount_requested=Decimal("500"),
        by=claimant.user,
        documents=[("Birth notification", SimpleUploadedFile("birth.pdf", b"%PDF-1.4"))],
    )
    services.claim_approve(claim=claim, by=secretary)
    services.claim_approve(claim=claim, by=chair)
    payment = services.claim_pay(claim=claim, method="cash", by=treasurer)
    chama._welfare_rows = {
        wm.WelfareScheme: scheme,
        wm.Benefit: scheme.benefits.get(),
        wm.Claim: claim,
        wm.Decision: claim.decisions.first(),
        wm.ClaimDocument: claim.documents.get(),
        wm.ClaimPayment: payment,
    }
    return chama._welfare_rows


def _register_welfare_rows():
    from welfare import models as wm

    for model in (wm.WelfareScheme, wm.Benefit, wm.Claim, wm.Decision, wm.ClaimDocument, wm.ClaimPayment):
        ROW_MAKERS[model] = lambda chama, model=model: welfare_rows(chama)[model]


_register_welfare_rows()


def _snapshot_of(chama):
    from reporting.models import MonthlySnapshot

    return MonthlySnapshot.objects.create(
        chama=chama,
        month=date(2026, 1, 1),
        members=1,
        savings=Decimal("0"),
        shares=Decimal("0"),
        loans_outstanding=Decimal("0"),
        cash=Decimal("0"),
        income=Decimal("0"),
        expenses=Decimal("0"),
        attendance_percentage=Decimal("0"),
    )


def _generated_report_of(chama):
    """A built report of `chama`, its file stored, as the background job leaves it."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from reporting.models import GeneratedReport

    row = GeneratedReport(
        chama=chama,
        report="compliance",
        format="csv",
        requested_by=_user_in(chama),
        status=GeneratedReport.Status.READY,
        progress=100,
        expires_date=timezone.now() + timedelta(days=7),
    )
    content = b"Contribution compliance\n"
    row.file.save("compliance.csv", ContentFile(content), save=False)
    row.size = len(content)
    row.save()
    return row


def _register_reporting_rows():
    from reporting.models import FinancialStatement, GeneratedReport, MonthlySnapshot

    ROW_MAKERS[FinancialStatement] = lambda chama: FinancialStatement.objects.get(chama=chama)
    ROW_MAKERS[MonthlySnapshot] = _snapshot_of
    ROW_MAKERS[GeneratedReport] = _generated_report_of


_register_reporting_rows()
