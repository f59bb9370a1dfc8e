import random

import factory

from dealers.credit_code import credit_code_generate
from dealers.models import Dealer, DealerContact, DealerGroup, Region

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
