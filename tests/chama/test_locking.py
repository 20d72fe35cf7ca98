"""Row locks are taken in one place (`chama/locking.py`), in the documented order: a
`select_for_update` anywhere else fails here, and the helpers lock by primary key."""

import ast
from pathlib import Path

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from finance.locking import lock_accounts
from finance.models import Account
from finance.services import ledger
from groups.locking import lock_chama, lock_memberships
from tests.factories import MembershipFactory
from tests.helpers import requires_postgres

ROOT = Path(__file__).resolve().parents[2]
APPS = ("chama", "groups", "finance", "meetings")
LOCKING = {"chama/locking.py"}


def bare_locks():
    """[(file, enclosing function, line)] of every `select_for_update` in the apps' code."""
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in LOCKING or "/migrations/" in name:
                continue
            tree = ast.parse(path.read_text(), filename=name)
            functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr == "select_for_update":
                    around = [f for f in functions if f.lineno <= node.lineno <= f.end_lineno]
                    innermost = max(around, key=lambda f: f.lineno).name if around else "<module>"
                    found.append((name, innermost, node.lineno))
    return found


def test_no_select_for_update_outside_the_locking_module():
    stray = bare_locks()
    assert stray == [], f"Lock rows through chama/locking.py (and groups/finance locking), not by hand: {stray}"


@requires_postgres
def test_accounts_are_locked_by_primary_key_and_memberships_without_the_key(chama):
    members = MembershipFactory.create_batch(2, chama=chama)
    A = Account.Purpose
    accounts = [ledger.chama_account(chama, purpose) for purpose in (A.CASH, A.BANK, A.MOBILE_MONEY)][::-1]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = lock_accounts([account.pk for account in accounts])
        lock_memberships([member.pk for member in reversed(members)])
        lock_chama(chama.pk)
    assert list(locked) == sorted(account.pk for account in accounts)
    accounts_sql, members_sql, chama_sql = (query["sql"] for query in queries.captured_queries[-3:])
    assert "FOR UPDATE OF" in accounts_sql and accounts_sql.index("ORDER BY") < accounts_sql.index("FOR UPDATE")
    assert "FOR NO KEY UPDATE" in members_sql
    assert members_sql.startswith('SELECT "groups_membership"."id"') and "ORDER BY 1 ASC" in members_sql  # by id
    assert "FOR NO KEY UPDATE" in chama_sql
