"""factory-boy factories. `make_row(model, chama)` builds one row of any tenant model for a chama;
the cross-chama sweep uses it to put rows of every kind in two chamas."""

import factory
from django.contrib.auth import get_user_model

from chama.roles import Role
from groups import services
from groups.models import Chama, Invitation, JoinRequest, Membership, Policy

PASSWORD = "pass-1234"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    phone_number = factory.Sequence(lambda n: f"+2547{n:08d}")
    email = factory.Sequence(lambda n: f"person{n}@example.co.ke")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ChamaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Chama

    name = factory.Sequence(lambda n: f"Chama {n}")
    kind = Chama.Kind.VSLA
    category = Chama.Category.SAVINGS
    status = Chama.Status.ACTIVE

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.chama_create(**kwargs)


class MembershipFactory(factory.django.DjangoModelFactory):
    """An active membership, admitted through the service (so members_count moves)."""

    class Meta:
        model = Membership

    chama = factory.SubFactory(ChamaFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.admit_member(**kwargs)


class JoinRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JoinRequest

    chama = factory.SubFactory(ChamaFactory)
    user = factory.SubFactory(UserFactory)
    message = "I would like to join."


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    chama = factory.SubFactory(ChamaFactory)
    phone_number = factory.Sequence(lambda n: f"+2547{90000000 + n:08d}")
    role = Role.MEMBER
    invited_by = factory.SubFactory(UserFactory)


def member(chama, role=Role.MEMBER, **user_fields):
    """A person who is an active member of `chama` with `role`."""
    return MembershipFactory(chama=chama, role=role, user=UserFactory(**user_fields)).user


def _user_in(chama):
    return member(chama)


def _policy_of(chama):
    return Policy.objects.get(chama=chama)


ROW_MAKERS = {
    Chama: None,  # the chama itself
    Policy: _policy_of,
    get_user_model(): _user_in,
}
ROW_MAKERS.update(
    {factory_class._meta.model: factory_class for factory_class in (MembershipFactory, JoinRequestFactory, InvitationFactory)}
)


def make_row(model, chama):
    """One row of `model` owned by `chama`, or None when no maker is known for the model."""
    if model not in ROW_MAKERS:
        return None
    maker = ROW_MAKERS[model]
    if maker is None:
        return chama
    if isinstance(maker, type) and issubclass(maker, factory.Factory):
        return maker(chama=chama)
    return maker(chama)
