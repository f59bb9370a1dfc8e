import factory
from django.contrib.auth.models import Group

from ssa_ops.models import User, VendorCompany
from ssa_ops.roles import Role
from tests.dealers.factories import DealerFactory


class VendorCompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VendorCompany

    name = factory.Sequence(lambda n: f"Vendor {n}")


class UserFactory(factory.django.DjangoModelFactory):
    """A user in one role; `regions` for region managers, `dealer` is made for dealer users."""

    class Meta:
        model = User

    role = Role.OPS
    regions = None
    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("demo")
    dealer = factory.Maybe(
        factory.LazyAttribute(lambda u: u.role == Role.DEALER),
        factory.SubFactory(DealerFactory),
        None,
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        role = kwargs.pop("role")
        regions = kwargs.pop("regions")
        user = super()._create(model_class, *args, **kwargs)
        user.groups.set([Group.objects.get(name=role)])
        if regions:
            user.regions.set(regions)
        return user
