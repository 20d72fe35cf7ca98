"""Who may do what, to which row: the one answer for the admin, the API and the services.

An *action* is a thing done in a chama, named after the domain (`record_payment`, `approve_waiver`,
`disburse_loan` …). Each app registers its own actions, and the Django model permissions its
officers need in the back office, from its `AppConfig.ready()`; this module names no model of a
higher app. A question is answered in this order:

1. Someone must be acting: a logged-in person, or the platform itself (`SYSTEM`: M-Pesa callbacks,
   month-end jobs) for the few actions registered as `system`.
2. Gates registered by the apps (a suspended or dissolved chama moves no money).
3. The person's role in *that row's* chama must be granted the action: the defaults registered
   here, tightened by the chama's policy (a policy can take a role away, never add one).
   Platform superusers pass this step.
4. Nobody makes or checks a row whose money is theirs: an action registered with an `owner`
   refuses the person that function names (their own loan, due, withdrawal, expense paid to them),
   superusers included.

Services call `require()` with the actor they are given, so no entry point can skip the rule; the
admin and the API ask `may()` to decide what to offer, and get the same answer.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured, PermissionDenied

from chama import tenancy
from chama.roles import Role


class Refused(PermissionDenied):
    """An action the actor may not take, with the reason in a sentence (403 in the API); `action`
    and `chama_id` say which and where, when the refusal came from `require`."""

    def __init__(self, reason, *, action=None, chama_id=None):
        super().__init__(reason)
        self.reason, self.action, self.chama_id = reason, action, chama_id

    @property
    def about_money(self):
        """Whether the refused action moves or signs for money (a security event when refused)."""
        return self.action is not None and action(self.action).money

    @property
    def messages(self):
        return [self.reason]


class _System:
    """The platform acting on its own: an M-Pesa callback, a scheduled job."""

    pk = None
    is_authenticated = True
    is_superuser = False
    is_active = True

    def __str__(self):
        return "the platform"

    def __bool__(self):
        return True


SYSTEM = _System()


@dataclass(frozen=True)
class Action:
    name: str
    label: str  # completes "… may {label}"
    roles: frozenset  # the roles granted by default
    app: str
    money: bool = False  # moves money (the chama's status gates it)
    owner: Callable | None = None  # row -> ids of the people whose money the row is
    system: bool = False  # the platform may take it by itself
    group: str = ""  # where the matrix lists it


@dataclass
class _Registry:
    actions: dict = field(default_factory=dict)
    model_perms: dict = field(default_factory=dict)  # role -> set of "app.codename"
    gates: list = field(default_factory=list)
    policy_override: Callable | None = None  # chama -> {action: [roles]}
    policy_overrides: Callable | None = None  # [chama id] -> {chama id: {action: [roles]}}


_registry = _Registry()


def register_action(name, label, roles, *, app, money=False, owner=None, system=False, group=""):
    if name in _registry.actions and _registry.actions[name].app != app:
        raise ImproperlyConfigured(f"The action {name!r} is registered by {_registry.actions[name].app} already.")
    _registry.actions[name] = Action(name, label, frozenset(roles), app, money, owner, system, group)
    return _registry.actions[name]


def grant_model_perms(roles, grants):
    """Give `roles` the Django permissions {"app.model": {"view", "add", "change"}} in the back office."""
    for role in roles:
        perms = _registry.model_perms.setdefault(role, set())
        for label, verbs in grants.items():
            app_label, model = label.split(".")
            perms.update(f"{app_label}.{verb}_{model}" for verb in verbs)


def register_gate(gate):
    """`gate(chama, action) -> reason or None`: refuses an action whatever the role (e.g. chama status)."""
    if gate not in _registry.gates:
        _registry.gates.append(gate)


def register_policy_override(reader, bulk_reader):
    """How a chama's policy tightens the defaults: `reader(chama) -> {action name: [roles]}`, and
    `bulk_reader(chama ids) -> {chama id: {action name: [roles]}}` for many chamas at once."""
    _registry.policy_override, _registry.policy_overrides = reader, bulk_reader


def actions():
    return dict(_registry.actions)


def action(name):
    try:
        return _registry.actions[name]
    except KeyError:
        raise ImproperlyConfigured(f"No action {name!r} is registered with the authority module.") from None


def role_permissions(role):
    """The Django model permissions a role holds in the chamas where it is held."""
    return frozenset(_registry.model_perms.get(role, ()))


def has_model_perm(user, perm, chama_ids):
    """Whether the user's role in one of `chama_ids` holds the Django permission (superusers: always)."""
    if user.is_active and user.is_superuser:
        return True
    roles = tenancy.chama_roles(user)
    return any(perm in role_permissions(roles.get(chama_id)) for chama_id in chama_ids)


def chama_ids_with_model_perm(user, perm):
    """The chamas in which the user's role holds the Django permission (None = every chama, for superusers)."""
    if user.is_active and user.is_superuser:
        return None
    return {chama_id for chama_id, role in tenancy.chama_roles(user).items() if perm in role_permissions(role)}


def roles_for(name, chama=None):
    """The roles that may take the action in `chama`: the defaults, less what its policy takes away."""
    granted = action(name).roles
    if chama is not None and _registry.policy_override is not None:
        tightened = (_registry.policy_override(chama) or {}).get(name)
        if tightened is not None:
            granted = granted & frozenset(tightened)
    return granted


def _chama_of(row, chama):
    if chama is not None:
        return chama
    found = getattr(row, "chama", None)
    if found is None:
        raise ImproperlyConfigured(f"Cannot tell which chama {row!r} belongs to: pass chama=.")
    return found


def _names(roles):
    labels = [str(Role(role).label).lower() for role in Role.values if role in roles]
    if not labels:
        return "nobody"
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"


def refusal(user, name, row=None, *, chama=None):
    """Why `user` may not take action `name` on `row` (in `chama`), or None when they may."""
    act = action(name)
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return "Log in to do this."
    chama = _chama_of(row, chama)
    if user is SYSTEM and not act.system:
        return f"The platform does not {act.label} by itself: an officer must."
    for gate in _registry.gates:
        reason = gate(chama, act)
        if reason:
            return reason
    if user is SYSTEM:
        return None
    if not user.is_superuser:
        granted = roles_for(name, chama)
        if tenancy.chama_roles(user).get(chama.pk) not in granted:
            return f"Only the {_names(granted)} of {chama} may {act.label}."
    if act.owner is not None and row is not None and user.pk in act.owner(row):
        return f"Nobody may {act.label} for themselves: another officer must."
    return None


def may(user, name, row=None, *, chama=None):
    return refusal(user, name, row, chama=chama) is None


def require(user, name, row=None, *, chama=None):
    """Refuse (raise `Refused`) unless `user` may take action `name` on `row`."""
    reason = refusal(user, name, row, chama=chama)
    if reason is not None:
        try:
            where = _chama_of(row, chama).pk
        except ImproperlyConfigured:  # refused before any chama was looked for (not logged in)
            where = None
        raise Refused(reason, action=name, chama_id=where)


def require_distinct(user, makers, what):
    """A second signature must come from someone who has not signed already."""
    if user is not SYSTEM and user.pk in {pk for pk in makers if pk is not None}:
        raise Refused(f"You have already signed this {what}: a second officer must, through their own login.")


def refusal_anywhere(user, name):
    """Why `user` may not take action `name` in any chama at all, or None when they may somewhere."""
    if chama_ids_for(user, name) == set():
        return f"Your role does not allow you to {action(name).label} in any of your chamas."
    return None


def person(user):
    """The user to store on a row as who acted (None for the platform)."""
    return None if user is SYSTEM else user


def chama_ids_for(user, name):
    """The chamas in which `user`'s role may take the action (None: every chama, for superusers)."""
    if user.is_active and user.is_superuser:
        return None
    roles = tenancy.chama_roles(user)
    candidates = {chama_id for chama_id, role in roles.items() if role in action(name).roles}
    if not candidates or _registry.policy_overrides is None:
        return candidates
    overrides = _overrides_of_users_chamas(user, roles)
    return {
        chama_id
        for chama_id in candidates
        if name not in overrides.get(chama_id, {}) or roles[chama_id] in overrides[chama_id][name]
    }


def _overrides_of_users_chamas(user, roles):
    """The policy overrides of every chama the user belongs to, read once and kept on the user
    object like their roles (Django loads the user afresh for every request)."""
    if not hasattr(user, "_policy_overrides"):
        user._policy_overrides = _registry.policy_overrides(set(roles))
    return user._policy_overrides


def matrix_markdown():
    """The default grants as the README's table: one row per action, grouped, ✓ where a role may."""
    roles = [Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY, Role.MEMBER]
    lines = [
        "| action | what it allows | " + " | ".join(str(role.label).lower() for role in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    by_group = {}
    for act in _registry.actions.values():
        by_group.setdefault(act.group, []).append(act)
    for group, acts in by_group.items():
        lines.append(f"| **{group}** | | " + " | ".join("" for _ in roles) + " |")
        for act in acts:
            notes = [
                note
                for flag, note in (
                    (act.owner, "never on one's own"),
                    (act.money, "active chama only"),
                    (act.system, "also the platform"),
                )
                if flag
            ]
            label = act.label[0].upper() + act.label[1:] + (f" ({'; '.join(notes)})" if notes else "")
            lines.append(
                f"| `{act.name}` | {label} | " + " | ".join("✓" if role in act.roles else "–" for role in roles) + " |"
            )
    return "\n".join(lines)
