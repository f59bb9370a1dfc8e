import random

import factory
from django.contrib.auth.models import Group

from dealers.credit_code import credit_code_generate
from dealers.models import Dealer, DealerContact, DealerGroup, Region
from ssa_ops.models import User, VendorCompany
from ssa_ops.roles import Role

_rng = random.Random(7)


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"R{n}")
    name_zh = factory.Sequence(lambda n: f"大区{n}")
    name_en = factory.Sequence(lambda n: f"Region {n}")


class DealerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DealerGroup

    code = factory.Sequence(lambda n: f"G{n:03d}")
    name = factory.Sequence(lambda n: f"集团{n}")


class DealerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dealer

    code = factory.Sequence(lambda n: f"T{n:05d}")
    name_zh = factory.Sequence(lambda n: f"测试汽车销售服务有限公司{n}")
    name_en = factory.Sequence(lambda n: f"Test Motors {n}")
    region = factory.SubFactory(RegionFactory)
    legal_entity = "测试汽车销售服务有限公司"
    credit_code = factory.LazyFunction(lambda: credit_code_generate(_rng))
    address = "上海市浦东新区1号"


class DealerContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DealerContact

    dealer = factory.SubFactory(DealerFactory)
    role = DealerContact.Role.SPECIAL_SALES
    name = factory.Sequence(lambda n: f"联系人{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    email = factory.Sequence(lambda n: f"contact{n}@dealer.example.com")


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
