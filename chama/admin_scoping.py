"""The one scoping base for every ModelAdmin and inline of the back office.

An officer (a staff user with an officer role) sees and can pick only rows of their own chamas:
changelists, change forms, foreign-key and many-to-many choices, list filters, autocompletes (they
read the related model's scoped admin), inlines and actions all start from `get_queryset`. What a
role may do with a row is decided by the role held in *that row's* chama. Superusers see all.

A row's relations must belong to the row's own chama: an officer of two chamas is offered the rows
of both, so every form checks the picks against the chama of the row being saved (and inline rows
against their parent's). Actions and custom pages that move money ask `chama.authority`.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth import get_permission_codename
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse

from chama import authority, signals, tenancy
from chama.forms import DateFormField, SplitDateTimeFormField


def scope_for_user(queryset, user):
    """`queryset` narrowed to the chamas a back-office user works in."""
    if not tenancy.is_tenant_model(queryset.model):
        return queryset
    chama_ids = tenancy.staff_chama_ids(user)
    return queryset if chama_ids is None else tenancy.scope_queryset(queryset, chama_ids)


def wrong_chama_picks(instance, values, chama_ids):
    """{field name: message} for picked rows that belong to another chama than `chama_ids`."""
    errors = {}
    for name, value in values.items():
        rows = value if isinstance(value, (list, tuple, models.QuerySet)) else [value]
        for row in rows:
            if (
                isinstance(row, models.Model)
                and tenancy.is_tenant_model(type(row))
                and type(row) is not type(instance)
                and not tenancy.chama_ids_of(row) & chama_ids
            ):
                errors[name] = f"{row} belongs to another chama: pick one of this row's chama."
    return errors


class SameChamaForm:
    """Mixed into every scoped admin form: each pick belongs to the chama of the row being saved."""

    parent_chama_ids = None  # set for inline forms whose parent exists

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A row that already has its chama (or an inline row under a saved parent) offers only that chama's rows.
        chama_ids = self.parent_chama_ids or (tenancy.chama_ids_of(self.instance) if self.instance.pk else set())
        if not chama_ids:
            return
        for name, field in self.fields.items():
            queryset = getattr(field, "queryset", None)
            if (
                name != "chama"
                and queryset is not None
                and tenancy.is_tenant_model(queryset.model)
                and queryset.model is not type(self.instance)
            ):
                field.queryset = tenancy.scope_queryset(queryset, chama_ids)

    def clean(self):
        data = super().clean()
        chama = data.get("chama")
        if chama is not None and hasattr(chama, "pk"):
            chama_ids = {chama.pk}
        else:
            chama_ids = self.parent_chama_ids or tenancy.chama_ids_of(self.instance)
        if chama_ids:
            for name, message in wrong_chama_picks(
                self.instance, {n: v for n, v in data.items() if n != "chama"}, chama_ids
            ).items():
                self.add_error(name, message)
        return data


def _same_chama(form_class, parent_chama_ids=None):
    return type(form_class.__name__, (SameChamaForm, form_class), {"parent_chama_ids": parent_chama_ids})


def add_refusal(form, exc):
    """Show a service's refusal on `form`: a ValidationError keeps its fields, an authority refusal is the form's."""
    form.add_error(None, exc if isinstance(exc, ValidationError) else exc.messages)


def add_refusal_beside_fields(form, exc):
    """Show a service's refusal on `form`, each message beside its field when the form has it."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _refused_form(form_class, exc):
    """`form_class` that is invalid with the service's refusal `exc` once it has validated its own fields."""

    class RefusedForm(form_class):
        def _post_clean(self):
            super()._post_clean()
            add_refusal_beside_fields(self, exc)

    RefusedForm.__name__ = form_class.__name__
    return RefusedForm


def take_saved(instance, saved):
    """Make the add form's `instance` the row a service saved, so that the admin's inlines, log
    entry and redirect use it."""
    for field in type(saved)._meta.concrete_fields:
        setattr(instance, field.attname, getattr(saved, field.attname))
    instance._state.adding = False
    return instance


class ChamaScopedMixin:
    """Scoping shared by ModelAdmin and InlineModelAdmin."""

    # Dates off the calendar (0001-01-01, 9999-12-31) are a form error, as in the API.
    formfield_overrides = {
        models.DateField: {"form_class": DateFormField},
        models.DateTimeField: {"form_class": SplitDateTimeFormField},
    }

    def get_queryset(self, request):
        return scope_for_user(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return self._scope_choices(formfield, db_field, request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        return self._scope_choices(formfield, db_field, request)

    def _scope_choices(self, formfield, db_field, request):
        if formfield is None or not hasattr(formfield, "queryset"):
            return formfield
        queryset = scope_for_user(formfield.queryset, request.user)
        if db_field.related_model is _chama_model(self.model):
            # Rows may be filed only under a chama where the role may add or change them.
            writable = authority.chama_ids_with_model_perm(request.user, self._perm("add")) or set()
            writable |= authority.chama_ids_with_model_perm(request.user, self._perm("change")) or set()
            if self.edit_action is not None:
                writable &= authority.chama_ids_for(request.user, self.edit_action) or set()
            if not request.user.is_superuser:
                queryset = queryset.filter(pk__in=writable)
        formfield.queryset = queryset
        return formfield

    def _perm(self, action, opts=None):
        opts = opts or self.opts
        return f"{opts.app_label}.{get_permission_codename(action, opts)}"

    def _allowed_in_chama(self, request, action, obj):
        """The role held in `obj`'s chama grants `action` on this model."""
        if obj is None or request.user.is_superuser:
            return True
        return authority.has_model_perm(request.user, self._perm(action), tenancy.chama_ids_of(obj))

    #: The authority action that adding and changing these rows needs (None: the role's model permissions only).
    edit_action = None

    def may(self, request, action, row=None, *, chama=None):
        """The authority's answer for this request's user."""
        return authority.may(request.user, action, row, chama=chama)

    def _may_edit(self, request, obj):
        if self.edit_action is None:
            return True
        if obj is None:
            return authority.chama_ids_for(request.user, self.edit_action) != set()
        chama_ids = tenancy.chama_ids_of(obj)
        allowed = authority.chama_ids_for(request.user, self.edit_action)
        return allowed is None or bool(chama_ids & allowed)

    def has_add_permission(self, request, *args):
        return super().has_add_permission(request, *args) and self._may_edit(request, None)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and (
            self._allowed_in_chama(request, "view", obj) or self._allowed_in_chama(request, "change", obj)
        )

    def has_change_permission(self, request, obj=None):
        return (
            super().has_change_permission(request, obj)
            and self._allowed_in_chama(request, "change", obj)
            and self._may_edit(request, obj)
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._allowed_in_chama(request, "delete", obj)


def _chama_model(model):
    """The Chama model, found through the `chama` field of a tenant model (chama core must not import it)."""
    try:
        return model._meta.get_field("chama").related_model
    except FieldDoesNotExist:
        return None


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """Choices: the related rows of the user's chamas, read from the (small) related table, not a
    DISTINCT over the changelist's rows, which would scan millions of journals."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin) or ()
        related = scope_for_user(field.related_model._default_manager.all(), request.user)
        return [(row.pk, str(row)) for row in related.order_by(*ordering)]


# {model: [inline class]} added by apps above the model's own app (imports run one way, so the
# model's admin cannot name them): finance shows a member's balances on the groups member page.
_extra_inlines = {}


def add_inline(model, inline):
    """Show `inline` on `model`'s admin page, from the `AppConfig.ready()` or admin module of an app
    above the model's app. The admin shows it after its own inlines, wherever it adds them."""
    _extra_inlines.setdefault(model, []).append(inline)


class ChamaScopedAdmin(ChamaScopedMixin, admin.ModelAdmin):
    list_per_page = 50
    #: {admin action name: authority action}: an action is offered only where the user may take it.
    authority_actions = {}
    #: {custom page URL name: authority action}, filled by `guarded_path`.
    authority_views = {}

    #: A refusal by the service that saves the form (a rule only it checks, under its lock) is shown
    #: on the form, beside its field, with what was typed; otherwise as a message over the page.
    refusals_on_form = False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = _same_chama(super().get_form(request, obj, change=change, **kwargs))
        refusal = getattr(request, "service_refusal", None)
        return form if refusal is None else _refused_form(form, refusal)

    def get_inline_instances(self, request, obj=None):
        own = super().get_inline_instances(request, obj)
        if not own and obj is None:
            return own  # a page that shows no inlines while adding shows none of the others either
        added = [inline(self.model, self.admin_site) for inline in _extra_inlines.get(self.model, [])]
        return own + [inline for inline in added if inline.has_view_or_change_permission(request, obj)]

    def guarded_path(self, route, view, name, action, read=None):
        """A custom page that asks the authority before it runs: for a page about one row (`<pk>`)
        whether the user may take `action` on that row, otherwise in at least one chama; `read`,
        if given, is the action that suffices to look (GET). A refusal goes back with its reason."""
        self.authority_views = {**getattr(self, "authority_views", {}), name: action}

        def guarded(request, *args, **kwargs):
            needed = read if read and request.method == "GET" else action
            back = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            if "pk" in kwargs:
                row = get_object_or_404(self.get_queryset(request), pk=kwargs["pk"])
                reason = authority.refusal(request.user, needed, row)
                back = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[row.pk])
            else:
                reason = authority.refusal_anywhere(request.user, needed)
            if reason:
                self.message_user(request, reason, messages.ERROR)
                return HttpResponseRedirect(back)
            return view(request, *args, **kwargs)

        return path(route, self.admin_site.admin_view(guarded), name=name)

    def get_actions(self, request):
        found = super().get_actions(request)
        for name, rule in self.authority_actions.items():
            if name in found and authority.chama_ids_for(request.user, rule) == set():
                del found[name]
        return found

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A service may still refuse at save time (a concurrent change won the race, or the
        # authority says no): the transaction is rolled back and the officer sees the reason.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ValidationError, authority.Refused) as exc:
            signals.refused(request, exc)
            if self.refusals_on_form and request.method == "POST" and not hasattr(request, "service_refusal"):
                # Nothing was saved (the transaction rolled back): the form again, with the reason.
                request.service_refusal = exc
                return self.changeform_view(request, object_id, form_url, extra_context)
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_list_filter(self, request):
        # A plain relation filter lists every row of the related table: scope its choices too.
        return [self._scoped_filter(item) for item in super().get_list_filter(request)]

    def _scoped_filter(self, item):
        if not isinstance(item, str):
            return item
        field = get_fields_from_path(self.model, item)[-1]
        if not isinstance(field, (models.ForeignKey, models.ManyToManyField, models.OneToOneField)):
            return item
        if tenancy.is_tenant_model(field.related_model):
            return (item, ScopedRelatedFieldListFilter)
        return (item, admin.RelatedOnlyFieldListFilter)

    def save_formset(self, request, form, formset, change):
        # A row added inline belongs to its parent's chama (every tenant row carries its own).
        chama_ids = tenancy.chama_ids_of(form.instance)
        for row in formset.save(commit=False):
            if getattr(row, "chama_id", False) is None and len(chama_ids) == 1:
                row.chama_id = next(iter(chama_ids))
            picks = {
                f.name: getattr(row, f.name)
                for f in row._meta.concrete_fields
                if f.is_relation and getattr(row, f.attname) is not None and f.related_model is not type(form.instance)
            }
            errors = wrong_chama_picks(row, picks, chama_ids)
            if errors:
                raise ValidationError(" ".join(errors.values()))
            row.save()
        for row in formset.deleted_objects:
            row.delete()
        formset.save_m2m()

    def rows_for_action(self, request, queryset, action="change"):
        """The selected rows whose chama lets this user's role perform `action`."""
        chama_ids = authority.chama_ids_with_model_perm(request.user, self._perm(action))
        return queryset if chama_ids is None else tenancy.scope_queryset(queryset, chama_ids)

    def run_service_per_row(self, request, queryset, service, done_message, action="change"):
        """Call `service(row)` for each permitted row; report successes and refusals."""
        allowed = self.rows_for_action(request, queryset, action)
        skipped = queryset.count() - allowed.count()
        done = 0
        for row in allowed:
            try:
                service(row)
            except (ValidationError, authority.Refused) as exc:
                signals.refused(request, exc)
                self.message_user(request, f"{row}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message.format(count=done), messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} row(s) skipped: your role in their chama does not allow it.", messages.WARNING
            )


class ReadOnlyScopedAdmin(ChamaScopedAdmin):
    """A list and pages to read, nothing to add, change or delete (rows written by the application)."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CreatedByServiceMixin:
    """For admins whose new rows are made by a service (which checks the rules and writes the
    money): `create_with_service(request, form)` builds the row from the add form, and Django's own
    saving is skipped for it. Rows that are edited afterwards save as usual."""

    def created_by_service(self, form, change):
        return not change

    def create_with_service(self, request, form):
        raise NotImplementedError

    def save_form(self, request, form, change):
        if self.created_by_service(form, change):
            return self.create_with_service(request, form)
        return super().save_form(request, form, change)

    def save_model(self, request, obj, form, change):
        if not self.created_by_service(form, change):
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        if not self.created_by_service(form, change):
            super().save_related(request, form, formsets, change)


class ChamaScopedInlineMixin(ChamaScopedMixin):
    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = _same_chama(formset.form, tenancy.chama_ids_of(obj) if obj is not None else None)
        return formset


class ChamaScopedTabularInline(ChamaScopedInlineMixin, admin.TabularInline):
    extra = 0


class ChamaScopedStackedInline(ChamaScopedInlineMixin, admin.StackedInline):
    extra = 0
