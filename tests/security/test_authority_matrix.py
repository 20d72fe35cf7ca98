"""The authority sweep: generated from `chama.authority` and the URL resolver, not written by hand.

- Every API action under /api/v1/chamas/{chama_id}/ names its authority action (`action_rules`);
  every money action of the admin (`authority_actions`) and every custom admin page
  (`guarded_path`) does too. A new route, admin action or page without one fails here.
- Each of them, called by the chairperson, the treasurer, the secretary, a plain member and an
  outsider, answers as the matrix says: a refusal with the authority's own sentence exactly where
  the role is not granted, never where it is; an outsider gets a 404.
- Every action that has an owner refuses the person whose money the row is (`OWN_ROW_CASES`).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from rest_framework.test import APIClient

from chama import authority, tenancy
from chama.admin_scoping import ChamaScopedAdmin
from chama.api.viewsets import ChamaNestedViewSet
from chama.roles import Role
from finance.models import Due, Expense, Loan, Withdrawal
from finance.services import books, dues, loans, reversals, rosca, rosca_exits, savings, savings_cycles
from groups import services as group_services
from groups.models import Chama
from tests.factories import (
    ROW_MAKERS,
    ChamaFactory,
    MembershipFactory,
    joined,
    loan_row,
    make_row,
    member,
)
from tests.helpers import login_api
from tests.security.test_cross_chama_sweep import api_routes, fill, param_model, route_params
from welfare import services as welfare

ROLES = [Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY, Role.MEMBER]


def chama_routes():
    """(route, method, viewset class, viewset action) for every chama-nested API action."""
    for route, callback in api_routes():
        view = callback.cls
        if "chama_id" in route_params(route) and issubclass(view, ChamaNestedViewSet):
            for method, name in list((getattr(callback, "actions", None) or {}).items()):
                if method in view.http_method_names and method != "head":  # DRF adds HEAD for GET when first called
                    yield route, method, view, name


def test_every_chama_api_action_names_its_authority_action():
    missing, unknown = [], []
    for route, method, view, name in chama_routes():
        if name not in view.action_rules:
            missing.append(f"{view.__name__}.{name} ({method.upper()} {route})")
        elif view.action_rules[name] is not None and view.action_rules[name] not in authority.actions():
            unknown.append(f"{view.__name__}.{name} → {view.action_rules[name]}")
    assert not missing, f"add these to the viewset's action_rules: {missing}"
    assert not unknown, f"these name no registered authority action: {unknown}"


def test_every_admin_action_and_custom_page_names_its_authority_action():
    missing = []
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, ChamaScopedAdmin):
            continue
        for name in model_admin.actions or []:
            if name not in model_admin.authority_actions:
                missing.append(f"{type(model_admin).__name__} action {name}")
        standard = {"changelist", "add", "history", "delete", "change", "autocomplete"}
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        for pattern in model_admin.get_urls():
            name = getattr(pattern, "name", None)
            if (
                name
                and name.startswith(prefix)
                and name[len(prefix) :] not in standard
                and name not in model_admin.authority_views
            ):
                missing.append(f"{type(model_admin).__name__} page {name}")
    assert not missing, f"route these through authority_actions / guarded_path: {missing}"


@dataclass
class World:
    chama: object
    other: object
    people: dict  # role (or "outsider") → user
    rows: dict  # model → one row of it in `chama`


@pytest.fixture
def world(db):
    chama, other = ChamaFactory(name="Umoja"), ChamaFactory(name="Tujenge")
    people = {role: member(chama, role) for role in ROLES}
    people["outsider"] = member(other, Role.CHAIRPERSON)
    return World(chama, other, people, {})


@pytest.fixture
def full_world(world):
    """The world with one row of every kind in the chama, for the routes and pages about a row."""
    world.rows.update({model: make_row(model, world.chama) for model in ROW_MAKERS})
    return world


def gate_refusal(user, rule, chama):
    """The sentence the authority answers when the role itself is not granted (None when it is)."""
    if rule is None or user.is_superuser or tenancy.chama_roles(user).get(chama.pk) in authority.roles_for(rule, chama):
        return None
    return authority.refusal(user, rule, chama=chama)


def test_every_chama_api_action_answers_as_the_matrix(full_world):
    world = full_world
    clients = {who: login_api(APIClient(), user) for who, user in world.people.items()}
    checked = 0
    for route, method, view, name in chama_routes():
        params = {"chama_id": world.chama.pk}
        for param in route_params(route):
            if param != "chama_id":
                params[param] = world.rows[param_model(param, view_callback(route))].pk
        url = fill(route, params)
        rule = view.action_rules.get(name)
        for who, client in clients.items():
            response = getattr(client, method)(url, {}, format="json") if method != "get" else client.get(url)
            where = f"{who}: {method.upper()} {url} ({view.__name__}.{name} → {rule})"
            if who == "outsider":
                assert response.status_code == 404, where
                continue
            expected = gate_refusal(world.people[who], rule, world.chama)
            detail = response.json().get("detail") if response.status_code == 403 else None
            if expected:
                assert (response.status_code, detail) == (403, expected), where
            else:
                assert not (detail or "").startswith("Only the "), f"{where} was refused by the gate: {detail}"
            checked += 1
    assert checked > 100


def view_callback(route):
    return next(callback for found, callback in api_routes() if found == route)


def test_admin_actions_are_offered_as_the_matrix_says(full_world, client):
    world = full_world
    for who, user in world.people.items():
        if who in (Role.MEMBER, "outsider"):
            continue
        client.force_login(user)
        for model, model_admin in admin.site._registry.items():
            if not isinstance(model_admin, ChamaScopedAdmin) or not model_admin.authority_actions:
                continue
            response = client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
            if response.status_code != 200:
                continue
            form = response.context["action_form"]
            offered = {name for name, _ in form.fields["action"].choices} if form else set()
            for action_name, rule in model_admin.authority_actions.items():
                granted = who in authority.roles_for(rule, world.chama)
                assert (action_name in offered) == granted, f"{who}: {model._meta.label} action {action_name} ({rule})"


def test_custom_admin_pages_answer_as_the_matrix(full_world, client):
    world = full_world
    for who, user in world.people.items():
        if who in (Role.MEMBER, "outsider"):
            continue
        client.force_login(user)
        for model, model_admin in admin.site._registry.items():
            for url_name, rule in getattr(model_admin, "authority_views", {}).items():
                pattern = next(p for p in model_admin.get_urls() if getattr(p, "name", None) == url_name)
                on_a_row = "pk" in str(pattern.pattern)
                args = [world.rows[model].pk] if on_a_row else []
                response = client.post(reverse(f"admin:{url_name}", args=args), {})
                expected = gate_refusal(user, rule, world.chama) if on_a_row else authority.refusal_anywhere(user, rule)
                shown = [str(m) for m in response.wsgi_request._messages] if response.status_code == 302 else []
                where = f"{who}: {url_name} ({rule})"
                if expected:
                    assert response.status_code == 302 and expected in shown, where
                else:
                    assert not any(text.startswith("Only the ") for text in shown), where


# --- nobody acts on their own money -------------------------------------------------------------


def _officer(world, role=Role.TREASURER):
    return world.chama.memberships.get(user=world.people[role])


def _own_loan(world, role=Role.TREASURER, status=None):
    membership = _officer(world, role)
    return loan_row(membership, f"Own {role} {status}", status=status or Loan.Status.APPLIED)


def _own_due(world):
    membership = _officer(world)
    return Due.objects.create(
        chama=world.chama,
        membership=membership,
        kind=Due.Kind.CONTRIBUTION,
        description="Own due",
        due_date=date(2026, 1, 5),
        late_after=date(2026, 1, 8),
        amount=D("500"),
    )


def _own_withdrawal(world):
    membership = _officer(world)
    savings.savings_deposit(membership=membership, amount="1000", method="cash", by=world.people[Role.CHAIRPERSON])
    return savings.withdrawal_request(membership=membership, amount="100", by=membership.user)


def _paid(world, role):
    """An officer's membership with money posted (its member number then needs a second officer)."""
    membership = _officer(world, role)
    dues.payment_record(membership=membership, amount="100", method="cash", by=world.people[Role.TREASURER])
    return membership


def _own_expense(world):
    return books.expense_record(
        chama=world.chama,
        category="other",
        amount="60000",
        description="Refund to me",
        by=world.people[Role.CHAIRPERSON],
        payee=_officer(world),
    )


def _own_round(world, *, pending=False):
    """A running merry-go-round in which the treasurer receives round 1, today; with `pending`, the
    round paid in and its payout asked by the chairperson, above the threshold."""
    chama, chair, me = world.chama, world.people[Role.CHAIRPERSON], world.people[Role.TREASURER]
    chama.kind = Chama.Kind.HYBRID
    chama.save(update_fields=["kind"])
    cycle = rosca.cycle_create(
        chama=chama,
        name="Own round",
        contribution=D("100"),
        start_date=chama.today(),
        by=chair,
        roster_method="agreement",
    )
    members = sorted(chama.memberships.filter(status="active"), key=lambda m: m.user_id != me.pk)
    rosca.roster_set(cycle=cycle, membership_ids=[m.pk for m in members], by=chair)
    rosca.cycle_start(cycle=cycle, by=chair)
    if not pending:
        return cycle
    dues.generate_dues(period=chama.today(), chama=chama)
    for membership in members:
        dues.payment_record(membership=membership, amount="100", method="cash", by=chair)
    chama.policy.second_approval_threshold = D("1")
    chama.policy.save()
    cycle.refresh_from_db()
    return rosca.round_payout(cycle=cycle, position=1, method="cash", by=chair)


def _own_late_round(world):
    """A cycle whose round 1 the treasurer received, and a later round they are late with."""
    payout = _own_round(world, pending=True)
    rosca.payout_approve(payout=payout, by=world.people[Role.SECRETARY])
    Due.objects.create(
        chama=world.chama,
        membership=_officer(world),
        kind=Due.Kind.CONTRIBUTION,
        plan=payout.cycle.plan,
        period_start=date(2020, 1, 1),
        description="Own late round",
        due_date=date(2020, 1, 5),
        late_after=date(2020, 1, 8),
        amount=D("100"),
        status=Due.Status.OVERDUE,
    )
    return payout.cycle


def _own_shares(world, *, pending=False):
    """A running savings cycle in which the treasurer holds a share; with `pending`, the
    treasurer's share-out as a leaving member asked by the chairperson."""
    chama, chair = world.chama, world.people[Role.CHAIRPERSON]
    chama.kind = Chama.Kind.VSLA
    chama.save(update_fields=["kind"])
    cycle = savings_cycles.cycle_open(
        chama=chama,
        name="Own shares",
        start_date=chama.today(),
        planned_end_date=chama.today() + timedelta(days=300),
        share_price=D("100"),
        by=chair,
    )
    savings.share_purchase(membership=_officer(world), shares=1, method="cash", by=chair)
    if not pending:
        return cycle
    return savings_cycles.share_out_request(cycle=cycle, by=chair, method="cash", membership=_officer(world))


def _own_claim(world, *, approved=False):
    """A welfare claim of the treasurer's; with `approved`, approved by two other officers."""
    chama, chair = world.chama, world.people[Role.CHAIRPERSON]
    scheme = welfare.scheme_create(
        chama=chama, name="Own", by=chair, benefits=[("birth", "fixed", D("100"))], waiting_days=0
    )
    claim = welfare.claim_submit(
        scheme=scheme,
        membership=_officer(world),
        event="birth",
        event_date=chama.today(),
        beneficiary="My son",
        amount_requested=D("100"),
        by=world.people[Role.TREASURER],
    )
    if approved:
        welfare.claim_approve(claim=claim, by=chair)
        welfare.claim_approve(claim=claim, by=world.people[Role.SECRETARY])
    return claim


OWN_ROW_CASES = {
    "decide_claim": lambda w, me: welfare.claim_approve(claim=_own_claim(w), by=me),
    "pay_claim": lambda w, me: welfare.claim_pay(claim=_own_claim(w, approved=True), method="cash", by=me),
    "reverse_journal": lambda w, me: reversals.journal_reverse(
        journal=dues.payment_record(membership=_officer(w), amount="100", method="cash", by=w.people[Role.CHAIRPERSON]),
        reason="mine",
        by=me,
    ),
    "record_expense": lambda w, me: books.expense_record(
        chama=w.chama, category="other", amount="10", description="To me", by=me, payee=_officer(w)
    ),
    "approve_expense": lambda w, me: books.cashbook_approve(record=_own_expense(w), by=me),
    "approve_withdrawal": lambda w, me: savings.withdrawal_approve(withdrawal=_own_withdrawal(w), by=me),
    "pay_withdrawal": lambda w, me: savings.withdrawal_pay(withdrawal=_own_withdrawal(w), method="cash", by=me),
    "waive": lambda w, me: dues.waiver_request(due=_own_due(w), reason="mine", by=me),
    "approve_waiver": lambda w, me: dues.waiver_approve(
        waiver=dues.waiver_request(
            due=_own_due(w), amount="500", reason="asked by the chair", by=w.people[Role.CHAIRPERSON]
        ),
        by=me,
    ),
    "pay_rosca": lambda w, me: rosca.round_payout(cycle=_own_round(w), position=1, method="cash", by=me),
    "approve_rosca_payout": lambda w, me: rosca.payout_approve(payout=_own_round(w, pending=True), by=me),
    "recover_rosca_arrears": lambda w, me: rosca.recover_round_arrears(
        cycle=_own_late_round(w), membership=_officer(w), by=me
    ),
    "settle_rosca_exit": lambda w, me: rosca_exits.exit_request(
        cycle=_own_round(w), membership=_officer(w), by=me, reason="mine"
    ),
    "share_out": lambda w, me: savings_cycles.share_out_request(
        cycle=_own_shares(w), by=me, method="cash", membership=_officer(w)
    ),
    "approve_share_out": lambda w, me: savings_cycles.share_out_approve(share_out=_own_shares(w, pending=True), by=me),
    "approve_loan": lambda w, me: loans.loan_approve(loan=_own_loan(w), by=me),
    "disburse_loan": lambda w, me: loans.loan_disburse(
        loan=_own_loan(w, status=Loan.Status.APPROVED), by=me, method="cash"
    ),
    "reschedule_loan": lambda w, me: loans.loan_reschedule(
        loan=_own_loan(w, status=Loan.Status.ACTIVE), by=me, installments=600, interest_rate=D("0")
    ),
    "approve_reschedule": lambda w, me: loans.reschedule_approve(loan=_own_loan(w, status=Loan.Status.ACTIVE), by=me),
    "write_off_loan": lambda w, me: loans.write_off_request(
        loan=_own_loan(w, status=Loan.Status.ACTIVE), by=me, reason="mine"
    ),
    "approve_write_off": lambda w, me: loans.write_off_approve(loan=_own_loan(w, status=Loan.Status.ACTIVE), by=me),
    "recover_loan": lambda w, me: loans.recover_from_guarantors(loan=_own_loan(w, status=Loan.Status.DEFAULTED), by=me),
    "manage_members": lambda w, me: group_services.membership_change_status(
        membership=w.chama.memberships.get(user=w.people[Role.SECRETARY]), status="exited", by=w.people[Role.SECRETARY]
    ),
    "change_roles": lambda w, me: group_services.membership_change_role(
        membership=w.chama.memberships.get(user=w.people[Role.CHAIRPERSON]),
        role=Role.MEMBER,
        by=w.people[Role.CHAIRPERSON],
    ),
    "change_member_number": lambda w, me: group_services.membership_change_member_number(
        membership=_paid(w, Role.CHAIRPERSON), member_number="M900", by=w.people[Role.CHAIRPERSON]
    ),
    "approve_member_change": lambda w, me: group_services.membership_change_approve(
        change=group_services.membership_change_member_number(
            membership=_paid(w, Role.TREASURER), member_number="M901", by=w.people[Role.CHAIRPERSON]
        ),
        by=me,
    ),
}


def test_every_action_with_an_owner_has_an_own_row_case():
    owned = {name for name, act in authority.actions().items() if act.owner is not None}
    assert owned - set(OWN_ROW_CASES) == set(), "add an own-row case for these actions"


@pytest.mark.parametrize("name", sorted(OWN_ROW_CASES))
def test_nobody_acts_on_their_own_money(world, name):
    me = world.people[Role.TREASURER]
    with pytest.raises(authority.Refused, match="for themselves: another officer must"):
        OWN_ROW_CASES[name](world, me)


def test_superusers_are_refused_their_own_money_too(world):
    boss = world.people[Role.TREASURER]
    boss.is_superuser = True
    boss.save()
    with pytest.raises(authority.Refused, match="for themselves"):
        loans.loan_approve(loan=_own_loan(world), by=boss)


# --- the policy tightens, never widens ------------------------------------------------------------


def test_a_policy_can_take_a_role_away_but_not_add_one(world):
    from django.core.exceptions import ValidationError

    policy = world.chama.policy
    policy.authority = {"reverse_journal": ["chairperson"]}
    policy.full_clean()
    policy.save()
    world.chama.refresh_from_db()
    payment = dues.payment_record(
        membership=MembershipFactory(chama=world.chama), amount="100", method="cash", by=world.people[Role.TREASURER]
    )

    with pytest.raises(authority.Refused, match="Only the chairperson of Umoja may reverse journals"):
        reversals.journal_reverse(journal=payment, reason="typo", by=world.people[Role.TREASURER])
    reversals.journal_reverse(journal=payment, reason="typo", by=world.people[Role.CHAIRPERSON])

    for bad in ({"reverse_journal": ["member"]}, {"no_such_action": ["chairperson"]}, {"waive": []}, ["waive"]):
        policy.authority = bad
        with pytest.raises(ValidationError):
            policy.full_clean()


# --- a closed chama moves no money -----------------------------------------------------------------


@pytest.mark.parametrize("status", ["suspended", "dissolved"])
def test_a_suspended_or_dissolved_chama_takes_no_payment_or_expense(world, status, api_as):
    payer = joined(world.chama)
    chair = world.people[Role.CHAIRPERSON]
    Chama.objects.filter(pk=world.chama.pk).update(status=status)
    world.chama.refresh_from_db()
    client = api_as(world.people[Role.TREASURER])

    payment = client.post(
        f"/api/v1/chamas/{world.chama.pk}/payments/",
        {"membership": payer.pk, "amount": "500", "method": "cash"},
        format="json",
    )
    expense = client.post(
        f"/api/v1/chamas/{world.chama.pk}/expenses/",
        {"category": "other", "amount": "50", "description": "Tea", "paid_through": "cash"},
        format="json",
    )

    assert payment.status_code == expense.status_code == 403
    assert payment.json()["detail"] == f"Umoja is {status}: no money can move until it is active again."
    with pytest.raises(authority.Refused, match=f"is {status}"):
        books.expense_record(chama=world.chama, category="other", amount="50", description="Tea", by=chair)
    assert not Expense.objects.filter(description="Tea").exists()
    assert not Withdrawal.objects.filter(membership=payer).exists()


def test_the_readme_role_table_is_the_generated_matrix():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    assert authority.matrix_markdown() in readme, "paste the output of `manage.py authority_matrix` into the README"
