"""Ready for distributing the tables by `chama_id`: every unique constraint of a tenant table (a
model with a `chama` foreign key) includes `chama`, so that each one can be checked on the node
that holds the chama's rows. Found by looking at every model, so a new table is checked too."""

from django.apps import apps
from django.db import models


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
        if field.unique and not field.primary_key and field.name != "chama":
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
