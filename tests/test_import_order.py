"""The apps import one way: chama ← groups ← finance ← welfare ← meetings. An app may import the
apps below it, never one above it (that would be a cycle waiting to happen). DESIGN.md puts welfare
and meetings side by side above finance; welfare goes first so that the demo, loaded by meetings'
`seed_demo`, can load welfare's too. New apps take their place in LAYERS (reporting at the top)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["chama", "groups", "finance", "welfare", "meetings", "reporting"]


def imported_apps(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(LAYERS)


def test_no_app_imports_an_app_above_it():
    wrong = []
    for level, app in enumerate(LAYERS):
        above = set(LAYERS[level + 1 :])
        for path in sorted((ROOT / app).rglob("*.py")):
            for name in sorted(imported_apps(path) & above):
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_the_check_reads_both_kinds_of_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import finance.models\nfrom meetings.services import x\nfrom . import y\n")
    assert imported_apps(module) == {"finance", "meetings"}
