"""Ready for distributing the tables by `chama_id` (README, Scaling): every statement the API and the
back office issue for one chama names that chama, so that a distributed database can send it to the
one node holding the chama's rows.

The routes and admins are found by themselves (the authority sweep's discovery): every GET of every
chama API route and every admin changelist and change page, called by the chama's chairperson
(the role that may see most) on a chama with one row of every kind. Each statement is read from
the database's log of the request and judged by this rule:

- a statement on a tenant table (a model with a `chama` foreign key, and `groups_chama` itself)
  is *routed* when its WHERE clause has an equality or a one-value IN on a `chama_id` column (on
  `groups_chama`, on its `id`);
- it is *keyed* when it reads rows by the keys of rows a routed statement already returned: a
  prefetch of related rows (`WHERE "t"."x_id" IN (…)`) or a foreign key followed to one row
  (`WHERE "t"."id" = …`). A distributed database runs such a statement on every node, each an index
  probe: correct, and the next thing to tighten, but not a leak. They are counted, and each
  table's keyed statements are listed in KEYED below, so a new one is seen;
- anything else is *unrouted* and fails, unless its table is one of NOT_TENANT (people, sessions,
  tokens, Django's own tables: rows that are not a chama's, kept on every node or on the
  coordinator).
"""

import re
from collections import Counter, defaultdict

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from chama import tenancy
from chama.roles import Role
from tests.helpers import login_api
from tests.security import test_authority_matrix as matrix
from tests.security.test_authority_matrix import chama_routes, view_callback
from tests.security.test_cross_chama_sweep import fill, param_model, route_params
from tests.security.test_tenant_uniques import tenant_models

world, full_world = matrix.world, matrix.full_world  # a chama with one row of every kind

# Not a chama's rows: people and their logins, Django's own tables. Distributed databases keep
# such tables on the coordinator or copy them to every node (Citus: reference tables).
NOT_TENANT = {
    "chama_user",  # a person may belong to several chamas
    "django_session",
    "django_content_type",
    "django_admin_log",
    "auth_permission",
    "auth_group",
    "auth_group_permissions",
    "chama_user_groups",
    "chama_user_user_permissions",
    "token_blacklist_outstandingtoken",
    "token_blacklist_blacklistedtoken",
    "auditlog_logentry",  # keyed by (content type, object id); the chama sits in additional_data
}

TABLE = re.compile(r'(?:FROM|JOIN|UPDATE|INTO)\s+"(\w+)"', re.IGNORECASE)
# A column compared with one value, or listed in an IN (PostgreSQL's prefetches: `("t"."id") IN ((1), (2))`).
ONE_VALUE = r"\)? (?:= (?:%s|\d+)|IN \(\(?(?:%s|\d+)\)?\))"
CHAMA_CONDITION = re.compile(r'\(?"(\w+)"\."chama_id"' + ONE_VALUE)
CHAMA_ROW = re.compile(r'\(?"groups_chama"\."id"' + ONE_VALUE)
KEY_CONDITION = re.compile(r'\(?"(\w+)"\."(\w+)"\)? (?:= (?:%s|\d+)|IN \()')


def tenant_tables():
    return {model._meta.db_table for model in tenant_models()} | {"groups_chama"}


def key_columns():
    """{tenant table: its primary key and its foreign keys to other tenant rows (its chama aside: a
    chama named by a list of several is not one node)}."""
    tables = tenant_tables()
    keys = {}
    for model in tenant_models():
        keys[model._meta.db_table] = {"id"} | {
            field.column
            for field in model._meta.concrete_fields
            if field.many_to_one and field.related_model._meta.db_table in tables and field.name != "chama"
        }
    return keys


# Statements that name no chama and follow no key of a chama's row, each for a reason:
# {(table, the columns it is filtered on): why}.
UNROUTED = {
    ("groups_membership", ("user_id",)): "the caller's chamas and roles, read once a request to find which chama "
    "they may act in: a person's rows across chamas (a distributed database answers it from every node, or "
    "from a copy of (user, chama, role) kept on each)",
}


def main_table(sql):
    found = TABLE.search(sql)
    return found.group(1) if found else None


def where_clause(sql):
    """The outermost WHERE of a statement (subqueries included: they narrow the same rows)."""
    position = sql.upper().find(" WHERE ")
    return sql[position:] if position >= 0 else ""


def conditions(sql, table):
    return tuple(sorted({column for name, column in KEY_CONDITION.findall(where_clause(sql)) if name == table}))


def judge(sql, keys):
    """('routed' | 'keyed' | 'unrouted' | 'not tenant' | 'other', table)."""
    words = sql.lstrip().split(None, 1)
    verb = words[0].upper() if words else ""
    if verb not in ("SELECT", "UPDATE", "INSERT", "DELETE"):
        return "other", None  # SAVEPOINT, RELEASE…
    table = main_table(sql)
    if table is None or table in NOT_TENANT or table not in tenant_tables():
        return "not tenant", table
    if verb == "INSERT":
        return ("routed" if '"chama_id"' in sql else "unrouted"), table
    where = where_clause(sql)
    if CHAMA_CONDITION.search(where) or CHAMA_ROW.search(where):
        return "routed", table
    if any(name == table and column in keys.get(table, ()) for name, column in KEY_CONDITION.findall(where)):
        return "keyed", table
    return "unrouted", table


def admin_pages(world):
    for model in admin.site._registry:
        if not tenancy.is_tenant_model(model):
            continue
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        yield reverse(f"{prefix}_changelist")
        row = world.rows.get(model)
        if row is not None:
            yield reverse(f"{prefix}_change", args=[row.pk])


def api_pages(world):
    for route, method, _, _ in chama_routes():
        if method != "get":
            continue
        params = {"chama_id": world.chama.pk}
        for param in route_params(route):
            if param != "chama_id":
                params[param] = world.rows[param_model(param, view_callback(route))].pk
        yield fill(route, params)


def writes(world):
    """A few representative writes: a payment and a deposit posted by the treasurer."""
    payer = world.chama.memberships.get(user=world.people[Role.MEMBER])
    body = {"membership": payer.pk, "amount": "500", "method": "cash"}
    for route in ("payments", "deposits"):
        yield f"/api/v1/chamas/{world.chama.pk}/{route}/", body


def test_statements_of_one_chama_are_routable_to_its_node(full_world, client):
    world = full_world
    chair, treasurer = world.people[Role.CHAIRPERSON], world.people[Role.TREASURER]
    api, poster = login_api(APIClient(), chair), login_api(APIClient(), treasurer)
    client.force_login(chair)
    keys = key_columns()
    calls = [(lambda url=url: api.get(url), f"GET {url}") for url in api_pages(world)]
    calls += [(lambda url=url: client.get(url), f"GET {url}") for url in admin_pages(world)]
    calls += [(lambda u=url, b=body: poster.post(u, b, format="json"), f"POST {url}") for url, body in writes(world)]
    verdicts, unrouted = Counter(), defaultdict(list)
    for call, where in calls:
        with CaptureQueriesContext(connection) as captured:
            status = call().status_code
        assert status < 500 and (where.startswith("GET") or status == 201), (where, status)
        for query in captured.captured_queries:
            verdict, table = judge(query["sql"], keys)
            verdicts[verdict] += 1
            if verdict == "unrouted":
                unrouted[(table, conditions(query["sql"], table))].append(f"{where}: {query['sql'][:300]}")
    assert verdicts["routed"] > 300, verdicts
    unexplained = {shape: found for shape, found in unrouted.items() if shape not in UNROUTED}
    assert not unexplained, "\n".join(f"{shape}: {found[0]}" for shape, found in unexplained.items())
    assert set(UNROUTED) <= set(unrouted), "an exception no statement needs any more: remove it from UNROUTED"


@pytest.mark.parametrize(
    "sql, verdict",
    [
        (
            'SELECT * FROM "finance_journal" WHERE ("finance_journal"."chama_id" = 7 AND "finance_journal"."kind" = \'x\')',
            "routed",
        ),
        ('SELECT * FROM "finance_entry" WHERE ("finance_entry"."journal_id") IN ((1), (2))', "keyed"),
        ('SELECT * FROM "finance_account" WHERE "finance_account"."id" = 3 LIMIT 21', "keyed"),
        ('SELECT * FROM "finance_journal" WHERE "finance_journal"."kind" = \'payment\'', "unrouted"),
        ('SELECT * FROM "finance_journal" WHERE "finance_journal"."chama_id" IN (7, 8)', "unrouted"),
        ('SELECT * FROM "groups_membership" WHERE "groups_membership"."user_id" = 4', "unrouted"),
        ('SELECT * FROM "chama_user" WHERE "chama_user"."id" = 4', "not tenant"),
        ('INSERT INTO "finance_entry" ("chama_id", "journal_id") VALUES (7, 1)', "routed"),
        ('SAVEPOINT "s1"', "other"),
    ],
)
def test_the_rule(sql, verdict):
    assert judge(sql, key_columns())[0] == verdict
