"""Cross-chama sweep: discovers every admin and every API route by itself and proves that an
officer of chama A never sees, picks or touches a row of chama B.

Nothing here names a model or a route: a ModelAdmin or viewset added later is swept too, and an
unscoped one fails. A new tenant model needs a row maker in tests/factories.ROW_MAKERS (the sweep
says so), because a sweep with no row of B to find would prove nothing.
"""

import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient
from rest_framework.views import APIView

from chama import downloads, tenancy
from chama.roles import Role
from tests.factories import ROW_MAKERS, ChamaFactory, make_row, member
from tests.helpers import login_api


@dataclass
class World:
    chama_a: object
    chama_b: object
    officer_a: object  # chairperson of A: the role with the most rights


def tenant_models():
    """Every tenant model the admin or the API exposes."""
    found = {model for model in admin.site._registry if tenancy.is_tenant_model(model)}
    for _, callback in api_routes():
        model = view_model(callback)
        if model is not None and tenancy.is_tenant_model(model):
            found.add(model)
    return found


@pytest.fixture
def world(db):
    chama_a, chama_b = ChamaFactory(name="Chama A"), ChamaFactory(name="Chama B")
    officer_a = member(chama_a, Role.CHAIRPERSON)
    for chama in (chama_a, chama_b):
        for role in (Role.TREASURER, Role.SECRETARY, Role.MEMBER):
            member(chama, role)
    member(chama_b, Role.CHAIRPERSON)
    for model in tenant_models():
        for chama in (chama_a, chama_b):
            make_row(model, chama)
    return World(chama_a, chama_b, officer_a)


def rows_of(model, chama):
    """Rows owned by the chama; for a person's own rows (notifications…), those of its members."""
    if not tenancy.is_tenant_model(model) and any(f.name == "user" for f in model._meta.get_fields()):
        return model._default_manager.filter(user__memberships__chama=chama).distinct()
    return tenancy.scope_queryset(model._default_manager.all(), [chama.pk])


def only_b(model, world):
    """Rows owned by B and not also by A (a person may belong to both)."""
    return set(
        rows_of(model, world.chama_b)
        .exclude(pk__in=rows_of(model, world.chama_a).values("pk"))
        .values_list("pk", flat=True)
    )


def require_b_rows(model, world):
    pks = only_b(model, world)
    assert pks, (
        f"The sweep has no row of {model._meta.label} in chama B: add a row maker for it to "
        "tests/factories.ROW_MAKERS so its admin and API are swept."
    )
    return pks


def snapshot(model, pks):
    return list(model._default_manager.filter(pk__in=pks).order_by("pk").values())


# --- admin -------------------------------------------------------------------------------------


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def choice_fields(response):
    """Every model-choice field a person can pick from, in the page's form and inline forms.

    An inline form's hidden primary-key and parent-key fields are not choices: Django resolves
    the row through the inline's own (scoped) queryset.
    """
    context = response.context
    forms = []
    if context.get("adminform") is not None:
        forms.append((context["adminform"].form, set()))
    for inline in context.get("inline_admin_formsets") or []:
        formset = inline.formset
        hidden = {formset.model._meta.pk.name, getattr(getattr(formset, "fk", None), "name", None)}
        forms.extend((form, hidden) for form in [*formset.forms, formset.empty_form])
    for form, hidden in forms:
        for name, field in form.fields.items():
            if hasattr(field, "queryset") and name not in hidden:
                yield form, name, field


def assert_no_b_choices(response, world, where):
    for _, name, field in choice_fields(response):
        related = field.queryset.model
        if tenancy.is_tenant_model(related):
            leaked = set(field.queryset.values_list("pk", flat=True)) & only_b(related, world)
            assert not leaked, f"{where}: field {name!r} offers rows {leaked} of chama B"


def test_every_admin_is_discovered():
    assert len(admin.site._registry) >= 5


def test_admin_changelists_show_no_row_of_another_chama(world, client):
    client.force_login(world.officer_a)
    for model in admin.site._registry:
        response = client.get(admin_url(model, "changelist"))
        if not tenancy.is_tenant_model(model):
            assert response.status_code == 403, f"{model._meta.label} has no chama, yet officers can list it"
            continue
        b_pks = require_b_rows(model, world)
        if response.status_code == 403:
            continue
        assert response.status_code == 200, model._meta.label
        shown = {row.pk for row in response.context["cl"].result_list}
        assert shown, f"{model._meta.label}: the officer of A should see A's rows"
        assert not shown & b_pks, f"{model._meta.label} changelist shows rows of chama B: {shown & b_pks}"
        for spec in response.context["cl"].filter_specs:
            field = getattr(spec, "field", None)
            if field is not None and field.is_relation and tenancy.is_tenant_model(field.related_model):
                offered = {str(pk) for pk, _ in spec.lookup_choices}
                leaked = offered & {str(pk) for pk in only_b(field.related_model, world)}
                assert not leaked, f"{model._meta.label} list filter {spec.field_path!r} offers rows of B"


def test_admin_object_pages_of_another_chama_are_unreachable(world, client):
    client.force_login(world.officer_a)
    for model in admin.site._registry:
        if not tenancy.is_tenant_model(model):
            continue
        for pk in require_b_rows(model, world):
            for view in ("change", "history", "delete"):
                response = client.get(admin_url(model, view, pk))
                assert response.status_code in (302, 403, 404), (
                    f"{model._meta.label} {view} page of chama B's row {pk} answered {response.status_code}"
                )


def test_admin_forms_offer_no_choice_from_another_chama(world, client):
    client.force_login(world.officer_a)
    for model in admin.site._registry:
        if not tenancy.is_tenant_model(model):
            continue
        response = client.get(admin_url(model, "add"))
        if response.status_code == 200:
            assert_no_b_choices(response, world, f"{model._meta.label} add form")
        for pk in rows_of(model, world.chama_a).values_list("pk", flat=True)[:3]:
            response = client.get(admin_url(model, "change", pk))
            if response.status_code == 200:
                assert_no_b_choices(response, world, f"{model._meta.label} change form")


def test_admin_autocompletes_offer_no_row_of_another_chama(world, client):
    client.force_login(world.officer_a)
    checked = 0
    for model in admin.site._registry:
        for field in model._meta.get_fields():
            if not (field.is_relation and field.concrete and field.related_model in admin.site._registry):
                continue
            related_admin = admin.site._registry[field.related_model]
            if not related_admin.get_search_fields(None) or not tenancy.is_tenant_model(field.related_model):
                continue
            response = client.get(
                "/admin/autocomplete/",
                {
                    "app_label": model._meta.app_label,
                    "model_name": model._meta.model_name,
                    "field_name": field.name,
                    "term": "",
                },
            )
            assert response.status_code in (200, 403), (model._meta.label, field.name, response.status_code)
            if response.status_code == 200:
                checked += 1
                offered = {item["id"] for item in response.json()["results"]}
                leaked = offered & {str(pk) for pk in only_b(field.related_model, world)}
                assert not leaked, f"autocomplete for {model._meta.label}.{field.name} offers rows of B: {leaked}"
    assert checked, "no autocomplete was reachable: the sweep checked nothing"


def test_admin_actions_leave_another_chamas_rows_untouched(world, client):
    client.force_login(world.officer_a)
    for model, model_admin in admin.site._registry.items():
        if not tenancy.is_tenant_model(model):
            continue
        b_pks = require_b_rows(model, world)
        before = snapshot(model, b_pks)
        for action in ["delete_selected", *(model_admin.actions or [])]:
            name = action if isinstance(action, str) else action.__name__
            client.post(
                admin_url(model, "changelist"),
                {"action": name, "_selected_action": [str(pk) for pk in b_pks], "post": "yes", "index": 0},
            )
        assert snapshot(model, b_pks) == before, f"an admin action of {model._meta.label} changed rows of chama B"


# --- API ---------------------------------------------------------------------------------------

# Parameters not named after their model. An M-Pesa callback's `secret` stands for B's channel here;
# that B's real secret opens nothing under A is tested in tests/finance/test_mpesa_services.py.
PARAM_MODELS = {"attachment_id": "meetings.MinutesAttachment", "secret": "finance.MpesaChannel"}
ROUTE_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")
UNSAFE = ("post", "put", "patch", "delete")


def api_routes():
    """(route, callback) for every DRF view under /api/v1/, read from the URL resolver."""

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield route, pattern.callback

    for route, callback in walk(get_resolver().url_patterns, ""):
        clean = route.replace("^", "").replace("$", "").replace("\\", "")
        view_class = getattr(callback, "cls", None)
        if clean.startswith("api/v1/") and view_class and issubclass(view_class, APIView):
            yield clean, callback


def route_params(route):
    return [a or b for a, b in ROUTE_PARAM.findall(route)]


def fill(route, values):
    return "/" + ROUTE_PARAM.sub(lambda m: str(values[m.group(1) or m.group(2)]), route)


def view_model(callback):
    queryset = getattr(callback.cls, "queryset", None)
    return queryset.model if queryset is not None else None


def param_model(name, callback):
    """The model a URL parameter names: pk/id → the view's own model; loan_pk / loan_id → Loan."""
    if name in ("pk", "id"):
        return view_model(callback)
    if name in PARAM_MODELS:
        return apps.get_model(PARAM_MODELS[name])
    base = re.sub(r"_(pk|id)$", "", name).replace("_", "")
    for model in ROW_MAKERS:
        if model._meta.model_name == base:
            return model
    raise AssertionError(f"the sweep cannot tell which model the URL parameter {name!r} names")


def methods(callback):
    actions = getattr(callback, "actions", None)
    offered = list(actions) if actions else [m for m in ("get", *UNSAFE) if hasattr(callback.cls, m)]
    return [m for m in offered if m in callback.cls.http_method_names]


def call(client, method, url):
    return getattr(client, method)(url, {}, format="json") if method in UNSAFE else client.get(url)


def test_every_api_route_is_discovered():
    routes = [route for route, _ in api_routes()]
    assert any("chama_id" in route for route in routes)
    assert len(routes) >= 10


def b_documents(world):
    """The download route's parameters for every kind of document, each on a row of B holding a
    real file (an empty one is a 404 whoever asks, which would prove nothing)."""
    for kind, document in downloads.documents().items():
        row = make_row(document.model, world.chama_b)
        stored = getattr(row, document.field)
        stored.save("evidence.pdf", ContentFile(b"%PDF-1.4 chama B"), save=False)
        type(row).objects.filter(pk=row.pk).update(**{document.field: stored.name})  # the row's cached counts untouched
        yield {"kind": kind, "pk": row.pk}


def test_api_routes_answer_404_for_another_chamas_objects(world):
    client = login_api(APIClient(), world.officer_a)
    swept = 0
    for route, callback in api_routes():
        params = route_params(route)
        object_params = [p for p in params if p != "chama_id"]
        if not params:
            continue
        if "kind" in params:
            cases = list(b_documents(world))  # the download view: B's document of every kind
        elif "chama_id" in params:
            b_objects = {p: min(require_b_rows(param_model(p, callback), world)) for p in object_params}
            cases = [{"chama_id": world.chama_b.pk, **b_objects}]  # B's chama
            if object_params:
                cases.append({"chama_id": world.chama_a.pk, **b_objects})  # B's object under A's chama
        else:
            cases = [{p: min(require_b_rows(param_model(p, callback), world)) for p in object_params}]  # not nested
        for values in cases:
            url = fill(route, values)
            for method in methods(callback):
                response = call(client, method, url)
                swept += 1
                assert response.status_code == 404, f"{method.upper()} {url} answered {response.status_code}, not 404"
                assert response["Content-Type"].startswith("application/json"), url
    assert swept >= 10


def test_api_lists_show_no_row_of_another_chama(world):
    client = login_api(APIClient(), world.officer_a)
    for route, callback in api_routes():
        params = route_params(route)
        model = view_model(callback)
        if params not in ([], ["chama_id"]) or model is None or "get" not in methods(callback):
            continue
        if not tenancy.is_tenant_model(model):
            continue
        response = client.get(fill(route, {"chama_id": world.chama_a.pk}))
        if response.status_code == 403:
            continue
        assert response.status_code == 200, (route, response.status_code)
        body = response.json()
        rows = body["results"] if isinstance(body, dict) and "results" in body else body
        shown = {row["id"] for row in rows if isinstance(row, dict) and "id" in row}
        leaked = shown & only_b(model, world)
        assert not leaked, f"GET {route} lists rows of chama B: {leaked}"
