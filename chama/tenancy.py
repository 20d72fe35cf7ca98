"""Which chamas a user may act in, and how a queryset is narrowed to them.

Every tenant table has a `chama` foreign key (DESIGN.md, Tenancy); a model that reaches its chama
another way names the ORM path in a `chama_lookup` class attribute. Scoping is then one filter on
that path. Results are cached on the user object, which Django loads afresh for every request, so
a change of role takes effect on the next request.
"""

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured

from chama.roles import OFFICER_ROLES, MembershipStatus

# Third-party models we cannot annotate: the path from them to a chama.
EXTERNAL_CHAMA_LOOKUPS = {
    "auditlog.logentry": "additional_data__chama_id",
}


def chama_lookup(model):
    """The ORM path from `model` to the id of the chama owning a row, or None if it has none."""
    explicit = getattr(model, "chama_lookup", None) or EXTERNAL_CHAMA_LOOKUPS.get(model._meta.label_lower)
    if explicit:
        return explicit
    try:
        model._meta.get_field("chama")
    except FieldDoesNotExist:
        return None
    return "chama"


def is_tenant_model(model):
    return chama_lookup(model) is not None


def scope_queryset(queryset, chama_ids):
    """Narrow `queryset` to rows owned by the given chamas."""
    lookup = chama_lookup(queryset.model)
    if lookup is None:
        raise ImproperlyConfigured(f"{queryset.model._meta.label} has no chama: it cannot be scoped to a chama.")
    chama_ids = list(chama_ids)
    if "__" not in lookup:
        return queryset.filter(**{f"{lookup}__in": chama_ids})
    # A path through a to-many relation would repeat rows: filter on a subquery of keys instead.
    owned = queryset.model._default_manager.filter(**{f"{lookup}__in": chama_ids}).values("pk")
    return queryset.filter(pk__in=owned)


def chama_ids_of(obj):
    """The ids of the chamas that own `obj` (one for a tenant row, several for a person)."""
    lookup = chama_lookup(type(obj))
    if lookup == "chama":
        return {obj.chama_id} if obj.chama_id else set()
    if lookup is None or obj.pk is None:
        return set()
    if lookup == "pk":
        return {obj.pk}
    values = type(obj)._default_manager.filter(pk=obj.pk).values_list(lookup, flat=True)
    return {value for value in values if value is not None}


def chama_roles(user):
    """{chama_id: role} for the user's active memberships."""
    if not getattr(user, "is_authenticated", False):
        return {}
    if not hasattr(user, "_chama_roles"):
        rows = user.memberships.filter(status=MembershipStatus.ACTIVE).values_list("chama_id", "role", "pk")
        user._chama_roles = {chama_id: role for chama_id, role, _ in rows}
        user._membership_ids = {chama_id: pk for chama_id, _, pk in rows}
    return user._chama_roles


def membership_id(user, chama_id):
    """The id of the user's active membership in the chama (None if none), read with their roles."""
    chama_roles(user)
    return getattr(user, "_membership_ids", {}).get(chama_id)


def forget_roles(user):
    """Drop the cached roles after this request changed them."""
    user.__dict__.pop("_chama_roles", None)
    user.__dict__.pop("_membership_ids", None)
    user.__dict__.pop("_policy_overrides", None)


def member_chama_ids(user):
    return set(chama_roles(user))


def chama_ids_with_roles(user, roles):
    return {chama_id for chama_id, role in chama_roles(user).items() if role in roles}


def officer_chama_ids(user):
    return chama_ids_with_roles(user, OFFICER_ROLES)


def staff_chama_ids(user):
    """The chamas whose rows a back-office user may see: their officer chamas (None = all)."""
    if user.is_active and user.is_superuser:
        return None
    if not (user.is_active and user.is_staff):
        return set()
    return officer_chama_ids(user)
