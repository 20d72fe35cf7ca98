"""Row locks are taken in one place (`chama/locking.py`, and `chama/rows.py` for the posting path's
hand-written reads), in the documented order: a `select_for_update` or a lock clause written anywhere
else fails here, and the helpers lock by primary key."""

import ast
import re
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
LOCKING = {"chama/locking.py", "chama/rows.py"}
# A row lock written in SQL, whole or in the pieces of an f-string (`f" FOR {lock} OF …"`).
LOCK_CLAUSE = re.compile(r"\bFOR (NO KEY )?UPDATE\b|\bFOR\s*$|^(NO KEY )?UPDATE$")


def bare_locks():
    """[(file, enclosing function, line)] of every `select_for_update`, and of every string naming a
    row lock ("FOR UPDATE", "FOR NO KEY UPDATE"), in the apps' code."""
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in LOCKING or "/migrations/" in name:
                continue
            tree = ast.parse(path.read_text(), filename=name)
            functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
            for node in ast.walk(tree):
                by_hand = (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and LOCK_CLAUSE.search(node.value)
                    and not _is_docstring(node, tree)
                )
                if by_hand or (isinstance(node, ast.Attribute) and node.attr == "select_for_update"):
                    around = [f for f in functions if f.lineno <= node.lineno <= f.end_lineno]
                    innermost = max(around, key=lambda f: f.lineno).name if around else "<module>"
                    found.append((name, innermost, node.lineno))
    return found


def _is_docstring(node, tree):
    return any(
        isinstance(owner, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and owner.body
        and isinstance(owner.body[0], ast.Expr)
        and owner.body[0].value is node
        for owner in ast.walk(tree)
    )


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
    assert members_sql.startswith('SELECT "groups_membership"."id"')
    assert 'ORDER BY "groups_membership"."id"' in members_sql
    assert "FOR NO KEY UPDATE" in chama_sql
