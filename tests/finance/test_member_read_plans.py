"""A member's reads do not depend on the length of the chama's history: every statement a member's
route issues, on a ledger of 100,000 entries, is planned by PostgreSQL without a sequential scan of
the ledger (journals, entries), and the member's journals and statement are read newest first, in
index order under the page's limit, never sorted out of the whole history: for a member with
100 entries through their own indexes — `(chama, membership, id)` on journals, `(account, id)` on
entries — where any other plan would walk the chama's history; for a member with 20,000 entries
(a fifth of the ledger) through those or the primary key. Plans are asserted, never times.

The routes are found from the URL resolver (every GET a plain member may call under a chama), so a
member route added later is checked too.
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from benchmarks.member_reads import history
from finance.models import Account, Entry, Journal
from tests.factories import ChamaFactory, MembershipFactory
from tests.security.test_authority_matrix import chama_routes
from tests.security.test_cross_chama_sweep import fill, route_params

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="asks PostgreSQL's planner for the plans of a 100,000-entry ledger; SQLite plans differently",
)

LEDGER_TABLES = {Journal._meta.db_table, Entry._meta.db_table}
# Row-level routes whose model is the ledger: called on one of the member's own rows.
OWN_ROW_MODELS = {Account, Journal}


def index_name(model, fields):
    return next(index.name for index in model._meta.indexes if index.fields == fields)


MEMBER_JOURNALS_INDEX = index_name(Journal, ["chama", "membership", "-id"])
ACCOUNT_ENTRIES_INDEX = index_name(Entry, ["account", "id"])


@pytest.fixture
def ledger(db):
    """A chama where a hot member has 20,000 entries, a small one 100 and eight others 40,000
    between them, next to another chama with 40,000: 100,100 entries, written set-based."""
    chama, other = ChamaFactory(name="Umoja"), ChamaFactory(name="Tujenge")
    hot, small = MembershipFactory(chama=chama), MembershipFactory(chama=chama)
    rest = [MembershipFactory(chama=chama) for _ in range(8)]
    outside = [MembershipFactory(chama=other) for _ in range(4)]
    history(chama=chama, members=[(hot, 10_000), (small, 50), *((m, 2_500) for m in rest)])
    history(chama=other, members=[(m, 5_000) for m in outside])
    assert Entry.objects.count() == 100_100
    return chama, hot, small


def plan_nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def ledger_plans(queries):
    """[(sql, [plan node])] of every SELECT among `queries` that reads the journals or entries."""
    found = []
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT") or not any(f'"{t}"' in sql for t in LEDGER_TABLES):
                continue
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
            raw = cursor.fetchone()[0]
            document = json.loads(raw) if isinstance(raw, str) else raw
            found.append((sql, list(plan_nodes(document[0]["Plan"]))))
    return found


def uses_index(plans, table, index):
    return any(
        node["Node Type"] == "Index Scan" and node.get("Relation Name") == table and node.get("Index Name") == index
        for _, nodes in plans
        for node in nodes
    )


def reads_in_index_order(plans, table):
    return any(
        any(n["Node Type"] == "Index Scan" and n.get("Relation Name") == table for n in nodes)
        and not any(n["Node Type"] in ("Sort", "Incremental Sort", "Bitmap Heap Scan") for n in nodes)
        for _, nodes in plans
    )


def member_urls(chama, membership):
    """(url, expected (table, index) or None) for every GET route a plain member may call in the
    chama, row-level ones on the member's own account and journal; then page 2 of the cursor lists."""
    own = {
        Account: Account.objects.get(membership=membership, purpose=Account.Purpose.MEMBER_SHARES),
        Journal: Journal.objects.filter(membership=membership).order_by("id").first(),
    }
    expected = {
        "MyJournalViewSet": (Journal._meta.db_table, MEMBER_JOURNALS_INDEX),
        "statement": (Entry._meta.db_table, ACCOUNT_ENTRIES_INDEX),
    }
    for route, method, view, action in chama_routes():
        params = route_params(route)
        model = view.queryset.model
        if method != "get" or view.action_rules.get(action, "") is not None:
            continue
        values = {"chama_id": chama.pk}
        if params != ["chama_id"]:
            if params != ["chama_id", "pk"] or model not in OWN_ROW_MODELS:
                continue
            values["pk"] = own[model].pk
        want = expected.get(action) or (expected.get(view.__name__) if action == "list" else None)
        yield fill(route, values), want


def test_every_member_read_is_planned_on_an_index_whatever_the_history(ledger, api_as):
    chama, hot, small = ledger
    checked = set()
    for membership in (hot, small):
        client = api_as(membership.user)
        pending = list(member_urls(chama, membership))
        while pending:
            url, want = pending.pop(0)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            plans = ledger_plans(captured.captured_queries)
            for sql, nodes in plans:
                scanned = [n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"]
                assert not set(scanned) & LEDGER_TABLES, f"GET {url} scans the whole ledger ({scanned}): {sql}"
            if want and membership == small:
                assert uses_index(plans, *want), (
                    f"GET {url} does not read {want[0]} through {want[1]}: {describe(plans)}"
                )
            elif want:
                # The hot member holds a fifth of the ledger: walking the primary key backwards and
                # keeping their rows reads about five rows a line, which the planner may prefer. Either
                # way the rows come in index order under the page's limit, never sorted from the history.
                assert reads_in_index_order(plans, want[0]), f"GET {url} sorts or scans {want[0]}"
                following = response.json().get("next")
                if following and "?" not in url:
                    pending.append((following.removeprefix("http://testserver"), want))
            checked.add(url.split("?")[0])
    assert any("my/journals/" in url for url in checked) and any("statement" in url for url in checked)


def describe(plans):
    return [
        [
            (n["Node Type"], n.get("Relation Name"), n.get("Index Name"), n.get("Index Cond"), n.get("Filter"))
            for n in nodes
        ]
        for _, nodes in plans
    ]
