"""Ready for distributing the tables by `chama_id`: every unique constraint of a tenant table (a
model with a `chama` foreign key) includes `chama`, so that each one can be checked on the node
that holds the chama's rows. Found by looking at every model, so a new table is checked too."""

from django.apps import apps
from django.db import models

# (model label, field): a one-column unique that stays, and why.
EXEMPT = {
    # Django reads a one-to-one's reverse side (`loan.receivable_account`, `journal.reversed_by`,
    # select_related on it) only through a one-column unique. The row it points at is always of
    # the same chama (`ledger.loan_account` opens the account in the loan's chama; a reversal is
    # posted in its original's chama), so each index entry stays on that chama's node. Making them
    # foreign keys with a (field, chama) constraint means rewriting those reverse reads first.
    ("finance.Account", "loan"),
    ("finance.Journal", "reversal_of"),
}


def tenant_models():
    found = []
    for model in apps.get_models():
        field = next((f for f in model._meta.local_fields if f.name == "chama"), None)
        if field is not None and field.is_relation:
            found.append(model)
    return found


def uniques_without_chama(model):
    label = model._meta.label
    problems = []
    for field in model._meta.local_fields:
        if field.unique and not field.primary_key and field.name != "chama" and (label, field.name) not in EXEMPT:
            problems.append(f"{label}.{field.name}: unique=True without chama")
    for fields in model._meta.unique_together:
        if "chama" not in fields:
            problems.append(f"{label}: unique_together {fields} without chama")
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and "chama" not in constraint.fields:
            problems.append(
                f"{label}: {constraint.name} {list(constraint.fields) or constraint.expressions} without chama"
            )
    return problems


def test_tenant_tables_are_found():
    labels = {model._meta.label for model in tenant_models()}
    assert {
        "groups.Membership",
        "groups.Invitation",
        "finance.Journal",
        "finance.StkRequest",
        "meetings.Vote",
    } <= labels
    assert "groups.Chama" not in labels


def test_every_unique_constraint_of_a_tenant_table_includes_chama():
    problems = [problem for model in tenant_models() for problem in uniques_without_chama(model)]
    assert problems == []


def test_exemptions_name_real_one_column_uniques():
    for label, name in EXEMPT:
        field = apps.get_model(label)._meta.get_field(name)
        assert field.unique, f"{label}.{name} is no longer unique on its own: drop its exemption"
