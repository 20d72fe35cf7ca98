"""Every service, selector and lock helper says what it takes and what it gives back; selectors take keywords only.

The modules are found by walking the apps: each app's ``services``, ``selectors`` and ``locking``
(a module or a package, read to the bottom), plus the few helpers that sit beside them. A new
module in one of those places is covered without touching this file.

Annotations are read as written (``eval_str=False``), so names imported only under
``TYPE_CHECKING`` need not resolve here.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
APPS = ("chama", "groups", "meetings", "finance")
WALKED = ("services", "selectors", "locking")
BESIDE = (
    "chama.money",
    "chama.progress",
    "chama.transitions",
    "groups.importing",
    "meetings.attendance",
    "finance.loan_schedule",
)


def _module_names() -> list[str]:
    names: set[str] = set(BESIDE)
    for app in APPS:
        for part in WALKED:
            base = ROOT / app / part
            if base.with_suffix(".py").is_file():
                names.add(f"{app}.{part}")
            elif (base / "__init__.py").is_file():
                package = f"{app}.{part}"
                names.add(package)
                for info in pkgutil.walk_packages([str(base)], prefix=f"{package}."):
                    names.add(info.name)
    return sorted(names)


def _dataclass_generated(cls: type, name: str) -> bool:
    """Methods the dataclass decorator wrote (``__init__``, ``__eq__``, ...), not the author."""
    if not dataclasses.is_dataclass(cls):
        return False
    func = cls.__dict__.get(name)
    code = getattr(func, "__code__", None)
    return code is not None and code.co_filename != inspect.getsourcefile(cls)


def _functions(module: ModuleType) -> list[tuple[str, object]]:
    """(qualified name, function) for each function and method written in ``module``."""
    found: list[tuple[str, object]] = []
    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            found.append((name, obj))
        elif inspect.isclass(obj):
            for attr, raw in vars(obj).items():
                func = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
                if isinstance(func, property):
                    func = func.fget
                if not inspect.isfunction(func) or func.__module__ != module.__name__:
                    continue
                if attr.startswith("__") and attr.endswith("__") and attr != "__init__":
                    continue
                if _dataclass_generated(obj, attr):
                    continue
                found.append((f"{name}.{attr}", func))
    return found


def _missing(qualname: str, func: object) -> list[str]:
    problems: list[str] = []
    signature = inspect.signature(func, eval_str=False)
    for index, param in enumerate(signature.parameters.values()):
        if index == 0 and param.name in ("self", "cls"):
            continue
        if param.annotation is inspect.Parameter.empty:
            problems.append(f"{qualname}: missing annotation for parameter {param.name}")
    if qualname.endswith(".__init__"):
        return problems
    if signature.return_annotation is inspect.Signature.empty:
        problems.append(f"{qualname}: missing annotation for return")
    return problems


def test_the_walk_finds_the_modules_in_scope():
    names = _module_names()
    for expected in (
        "chama.services",
        "chama.locking",
        "groups.selectors",
        "finance.services.ledger",
        "finance.services.loans.repayment",
        "finance.selectors.loans",
        "finance.locking",
    ):
        assert expected in names


def test_every_service_and_selector_signature_is_annotated():
    problems: list[str] = []
    for name in _module_names():
        module = importlib.import_module(name)
        for qualname, func in _functions(module):
            problems.extend(f"{name}.{line}" for line in _missing(qualname, func))
    assert not problems, "\n".join(problems)


def test_every_public_selector_takes_keywords_only():
    """Selectors are called as `payoff_amount(loan=…, as_of=…)`: a reader sees what each argument is,
    and a selector can take a new argument without breaking its callers."""
    positional: list[str] = []
    for name in _module_names():
        if ".selectors" not in name:
            continue
        module = importlib.import_module(name)
        for qualname, func in _functions(module):
            if qualname.startswith("_") or "." in qualname:
                continue
            kinds = {param.kind for param in inspect.signature(func, eval_str=False).parameters.values()}
            if inspect.Parameter.POSITIONAL_OR_KEYWORD in kinds or inspect.Parameter.POSITIONAL_ONLY in kinds:
                positional.append(f"{name}.{qualname}")
    assert not positional, "take keyword-only arguments (add `*,`): " + ", ".join(positional)
