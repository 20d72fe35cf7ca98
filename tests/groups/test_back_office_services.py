"""The back office writes chamas, their policy and a member's details through the services: the
rules (who may, which status follows which, how far back money may be dated) are the services',
and a refusal is a form error with nothing changed."""

from datetime import date

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse

from chama import authority
from chama.roles import Role
from groups import services
from groups.models import Chama, Membership, Policy
from tests.factories import UserFactory, member


def value(bound):
    shown = bound.value()
    return "" if shown is None else str(shown)


def policy_fields(form, prefix):
    """The policy inline's fields as its form shows them, posted under `prefix`."""
    return {f"{prefix}-{name}": value(form[name]) for name in form.fields if name not in ("id", "chama", "DELETE")}


def chama_add_form(client, *, with_policy=False, **fields):
    """The chama add page as posted: Harambee, forming; with the policy inline opened when asked."""
    page = client.get(reverse("admin:groups_chama_add"))
    formset = next(i.formset for i in page.context["inline_admin_formsets"] if i.formset.model is Policy)
    data = {
        "name": "Harambee",
        "kind": Chama.Kind.ASCA,
        "category": Chama.Category.SAVINGS,
        "status": Chama.Status.FORMING,
        "description": "",
        "registration_number": "",
        "founded_date": "",
        "currency": "KES",
        "timezone": "Africa/Nairobi",
        f"{formset.prefix}-TOTAL_FORMS": "1" if with_policy else "0",
        f"{formset.prefix}-INITIAL_FORMS": "0",
    }
    if with_policy:
        data.update(policy_fields(formset.empty_form, f"{formset.prefix}-0"))
    data.update(fields)
    return data


def chama_change_form(client, chama, **changes):
    """The chama's change page as posted, with `changes` (policy fields named as `policy-0-…`)."""
    page = client.get(reverse("admin:groups_chama_change", args=[chama.pk]))
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: value(form[name]) for name in form.fields if name != "constitution"}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(len(formset.forms))
        data[f"{formset.prefix}-INITIAL_FORMS"] = str(formset.initial_form_count())
        for index, inline_form in enumerate(formset.forms):
            data.update(policy_fields(inline_form, f"{formset.prefix}-{index}"))
            data[f"{formset.prefix}-{index}-id"] = value(inline_form["id"])
            data[f"{formset.prefix}-{index}-chama"] = str(chama.pk)
    data.update(changes)
    return data


def form_errors(response):
    assert response.status_code == 200, "the form again, with its errors"
    return response.context["adminform"].form.errors


def inline_errors(response):
    return [
        errors for inline in response.context["inline_admin_formsets"] for errors in inline.formset.errors if errors
    ]


def audited(row, action):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(row), object_pk=str(row.pk), action=action
    )


@pytest.fixture
def platform_admin(db):
    return UserFactory(is_staff=True, is_superuser=True)


# --- adding a chama ------------------------------------------------------------------------------


def test_adding_a_chama_in_the_admin_makes_it_with_its_policy_through_the_service(platform_admin, client):
    client.force_login(platform_admin)

    response = client.post(
        reverse("admin:groups_chama_add"),
        chama_add_form(client, with_policy=True, **{"policy-0-backdating_window_days": "7"}),
    )

    assert response.status_code == 302
    chama = Chama.objects.get(name="Harambee")
    assert (chama.status, chama.policy.backdating_window_days) == (Chama.Status.FORMING, 7)
    assert response["Location"] == reverse("admin:groups_chama_changelist")
    # The service made it: nobody became a member (the platform's staff run no chama), and the
    # audit trail recorded the chama and its policy.
    assert not Membership.objects.filter(chama=chama).exists()
    assert audited(chama, LogEntry.Action.CREATE).exists()
    assert audited(chama.policy, LogEntry.Action.CREATE).exists()


def test_a_chama_added_without_opening_its_policy_gets_the_default_policy(platform_admin, client):
    client.force_login(platform_admin)

    response = client.post(reverse("admin:groups_chama_add"), chama_add_form(client))

    assert response.status_code == 302
    assert Chama.objects.get(name="Harambee").policy.backdating_window_days == 31


def test_a_chama_added_with_a_backdating_window_wider_than_31_days_is_refused_and_nothing_is_made(
    platform_admin, client
):
    client.force_login(platform_admin)

    response = client.post(
        reverse("admin:groups_chama_add"),
        chama_add_form(client, with_policy=True, **{"policy-0-backdating_window_days": "60"}),
    )

    assert response.status_code == 200
    assert [list(errors) for errors in inline_errors(response)] == [["backdating_window_days"]]
    assert not Chama.objects.filter(name="Harambee").exists()
    assert not Policy.objects.filter(chama__name="Harambee").exists()


# --- changing a chama ----------------------------------------------------------------------------


def test_the_chairperson_changes_the_chamas_details_and_status_through_the_services(chama, chairperson, client):
    client.force_login(chairperson)

    response = client.post(
        reverse("admin:groups_chama_change", args=[chama.pk]),
        chama_change_form(client, chama, name="Umoja Savers", status=Chama.Status.SUSPENDED),
    )

    assert response.status_code == 302
    chama.refresh_from_db()
    assert (chama.name, chama.status) == ("Umoja Savers", Chama.Status.SUSPENDED)
    changes = [entry.changes_dict for entry in audited(chama, LogEntry.Action.UPDATE).order_by("pk")]
    assert {"name": ["Umoja", "Umoja Savers"]} in changes
    assert {"status": ["active", "suspended"]} in changes


def test_a_treasurer_cannot_change_the_chamas_status(chama, chairperson, treasurer, client):
    client.force_login(treasurer)

    response = client.post(
        reverse("admin:groups_chama_change", args=[chama.pk]),
        chama_change_form(client, chama, name="Umoja Savers", status=Chama.Status.DISSOLVED),
    )

    assert form_errors(response)["status"] == ["Only the chairperson of Umoja may change the chama's status."]
    chama.refresh_from_db()
    assert (chama.name, chama.status) == ("Umoja", Chama.Status.ACTIVE)


def test_a_status_the_chama_cannot_take_is_a_form_error_and_changes_nothing(chama, chairperson, client):
    client.force_login(chairperson)

    response = client.post(
        reverse("admin:groups_chama_change", args=[chama.pk]),
        chama_change_form(client, chama, status=Chama.Status.FORMING, description="Back to the start"),
    )

    assert form_errors(response)["status"] == ["The chama is active: it cannot become forming."]
    chama.refresh_from_db()
    assert (chama.status, chama.description) == (Chama.Status.ACTIVE, "")


def test_the_treasurer_narrows_the_backdating_window_but_cannot_widen_it(chama, treasurer, client):
    client.force_login(treasurer)
    url = reverse("admin:groups_chama_change", args=[chama.pk])

    widened = client.post(url, chama_change_form(client, chama, **{"policy-0-backdating_window_days": "45"}))

    assert widened.status_code == 200
    assert [list(errors) for errors in inline_errors(widened)] == [["backdating_window_days"]]
    assert Policy.objects.get(chama=chama).backdating_window_days == 31

    narrowed = client.post(url, chama_change_form(client, chama, **{"policy-0-backdating_window_days": "10"}))

    assert narrowed.status_code == 302
    policy = Policy.objects.get(chama=chama)
    assert policy.backdating_window_days == 10
    assert audited(policy, LogEntry.Action.UPDATE).get().changes_dict == {"backdating_window_days": ["31", "10"]}


def test_the_policy_service_keeps_the_policys_rules_and_asks_the_authority(chama, chairperson, treasurer, secretary):
    with pytest.raises(authority.Refused):
        services.policy_update(chama=chama, by=secretary, grace_days=5)
    with pytest.raises(ValidationError) as widened:
        services.policy_update(chama=chama, by=treasurer, backdating_window_days=32)
    assert "backdating_window_days" in widened.value.message_dict
    with pytest.raises(ValidationError) as added_role:
        services.policy_update(chama=chama, by=treasurer, authority={"change_chama_status": ["member"]})
    assert "authority" in added_role.value.message_dict
    with pytest.raises(ValidationError):
        services.policy_update(chama=chama, by=treasurer, chama_id=0)

    services.policy_update(chama=chama, by=treasurer, grace_days=5, backdating_window_days=0)

    policy = Policy.objects.get(chama=chama)
    assert (policy.grace_days, policy.backdating_window_days) == (5, 0)


def test_the_chama_details_service_asks_the_authority_and_leaves_the_status_to_its_own(
    chama, chairperson, treasurer, secretary
):
    with pytest.raises(authority.Refused):
        services.chama_update(chama=chama, by=secretary, name="Taken over")
    with pytest.raises(ValidationError):
        services.chama_update(chama=chama, by=treasurer, status=Chama.Status.DISSOLVED)
    with pytest.raises(ValidationError) as future:
        services.chama_update(chama=chama, by=treasurer, founded_date=date(2200, 1, 1))
    assert "founded_date" in future.value.message_dict

    services.chama_update(chama=chama, by=treasurer, name="Umoja Savers", currency="kes")

    chama.refresh_from_db()
    assert (chama.name, chama.currency, chama.status) == ("Umoja Savers", "KES", Chama.Status.ACTIVE)


# --- a member's details --------------------------------------------------------------------------


def membership_form(client, membership, **changes):
    page = client.get(reverse("admin:groups_membership_change", args=[membership.pk]))
    assert page.status_code == 200
    data = {
        "role": membership.role,
        "status": membership.status,
        "member_number": membership.member_number,
        "joined_date": str(membership.joined_date),
        "exit_reason": membership.exit_reason,
    }
    for inline in page.context["inline_admin_formsets"]:
        data.update({f"{inline.formset.prefix}-TOTAL_FORMS": 0, f"{inline.formset.prefix}-INITIAL_FORMS": 0})
    data.update(changes)
    return data


def test_the_secretary_corrects_a_members_joining_date_through_the_service(chama, secretary, plain_member, client):
    membership = Membership.objects.get(user=plain_member)
    client.force_login(secretary)

    response = client.post(
        reverse("admin:groups_membership_change", args=[membership.pk]),
        membership_form(client, membership, joined_date="2025-03-01"),
    )

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.joined_date == date(2025, 3, 1)
    assert audited(membership, LogEntry.Action.UPDATE).filter(actor=secretary).exists()


def test_a_members_details_are_not_changed_by_an_officer_the_policy_took_the_right_from(
    chama, chairperson, secretary, plain_member, client
):
    services.policy_update(chama=chama, by=chairperson, authority={"manage_members": ["chairperson"]})
    membership = Membership.objects.get(user=plain_member)
    joined = membership.joined_date
    client.force_login(secretary)

    response = client.post(
        reverse("admin:groups_membership_change", args=[membership.pk]),
        membership_form(client, membership, joined_date="2020-01-01"),
    )

    assert form_errors(response)["__all__"] == [
        "Only the chairperson of Umoja may add, suspend, reinstate or exit members, invite people and decide "
        "join requests."
    ]
    membership.refresh_from_db()
    assert membership.joined_date == joined


def test_nobody_backdates_their_own_joining_date(chama, chairperson, secretary, client):
    own = Membership.objects.get(user=secretary)
    client.force_login(secretary)

    response = client.post(
        reverse("admin:groups_membership_change", args=[own.pk]), membership_form(client, own, joined_date="2020-01-01")
    )

    assert "for themselves" in str(form_errors(response)["__all__"])
    own.refresh_from_db()
    assert own.joined_date != date(2020, 1, 1)


def test_the_membership_details_service_asks_the_authority_and_changes_only_details(chama, treasurer, plain_member):
    membership = Membership.objects.get(user=plain_member)

    with pytest.raises(authority.Refused):
        services.membership_update_details(membership=membership, by=treasurer, joined_date=date(2025, 2, 1))
    with pytest.raises(ValidationError):
        services.membership_update_details(membership=membership, by=member(chama, Role.SECRETARY), status="exited")

    membership.refresh_from_db()
    assert membership.joined_date != date(2025, 2, 1)
