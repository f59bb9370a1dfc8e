"""One step of the dealer import benchmark, run in its own process (see bench/__main__.py)."""

import json
import random
import resource
import sys
import time


def generate(path, rows):
    import xlsxwriter

    from dealers.credit_code import credit_code_generate

    rng = random.Random(20000)
    regions = ["N", "E", "S", "C", "W", "NE"]
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    dealers = book.add_worksheet("Dealers")
    dealers.write_row(
        0,
        0,
        [
            "Dealer code",
            "Chinese name",
            "English name",
            "Region",
            "Dealer group",
            "Status",
            "Legal entity",
            "Unified social credit code",
            "Address",
        ],
    )
    seen = set()
    for index in range(1, rows + 1):
        credit = credit_code_generate(rng)
        while credit in seen:
            credit = credit_code_generate(rng)
        seen.add(credit)
        dealers.write_row(
            index,
            0,
            [
                f"B{index:06d}",
                f"基准测试汽车销售服务有限公司{index}",
                f"Bench Motors {index}",
                regions[index % 6],
                f"G{index % 20:02d}",
                "active",
                f"基准测试汽车{index}有限公司",
                credit,
                f"上海市浦东新区{index}号",
            ],
        )
    contacts = book.add_worksheet("Contacts")
    contacts.write_row(0, 0, ["Dealer code", "Role", "Name", "Phone", "Email", "Primary"])
    for index in range(1, rows + 1):
        contacts.write_row(
            index,
            0,
            [
                f"B{index:06d}",
                "special_sales",
                f"联系人{index}",
                f"139{index:08d}",
                f"c{index}@dealer.example.com",
                "yes",
            ],
        )
    book.close()
    return {}


def prepare(path, rows):
    from django.core.management import call_command

    from dealers.models import DealerGroup, Region

    call_command("migrate", verbosity=0)
    for code in ["N", "E", "S", "C", "W", "NE"]:
        Region.objects.create(code=code, name_zh=code, name_en=code)
    DealerGroup.objects.bulk_create(
        DealerGroup(code=f"G{n:02d}", name=f"Group {n}") for n in range(20)
    )
    return {}


def pipeline(path, rows):
    from dealers.excel import DealerImportSpec
    from dealers.models import Dealer, DealerContact
    from ssa_ops.excel_import import excel_import_run

    started = time.perf_counter()
    result = excel_import_run(spec=DealerImportSpec(), source=path, actor=None)
    elapsed = time.perf_counter() - started
    assert result.ok, result.errors[:5]
    return _figures(elapsed, Dealer.objects.count(), DealerContact.objects.count())


def import_export(path, rows):
    import tablib
    from import_export import fields, resources, widgets

    from dealers.models import Dealer, DealerContact, DealerGroup, Region

    class DealerResource(resources.ModelResource):
        code = fields.Field(attribute="code", column_name="Dealer code")
        name_zh = fields.Field(attribute="name_zh", column_name="Chinese name")
        name_en = fields.Field(attribute="name_en", column_name="English name")
        region = fields.Field(
            attribute="region",
            column_name="Region",
            widget=widgets.ForeignKeyWidget(Region, "code"),
        )
        group = fields.Field(
            attribute="group",
            column_name="Dealer group",
            widget=widgets.ForeignKeyWidget(DealerGroup, "code"),
        )
        legal_entity = fields.Field(attribute="legal_entity", column_name="Legal entity")
        credit_code = fields.Field(
            attribute="credit_code", column_name="Unified social credit code"
        )
        address = fields.Field(attribute="address", column_name="Address")

        class Meta:
            model = Dealer
            import_id_fields = ["code"]
            fields = [
                "code",
                "name_zh",
                "name_en",
                "region",
                "group",
                "legal_entity",
                "credit_code",
                "address",
            ]

    class ContactResource(resources.ModelResource):
        dealer = fields.Field(
            attribute="dealer",
            column_name="Dealer code",
            widget=widgets.ForeignKeyWidget(Dealer, "code"),
        )
        role = fields.Field(attribute="role", column_name="Role")
        name = fields.Field(attribute="name", column_name="Name")
        phone = fields.Field(attribute="phone", column_name="Phone")
        email = fields.Field(attribute="email", column_name="Email")

        class Meta:
            model = DealerContact
            import_id_fields = ["dealer", "name"]
            fields = ["dealer", "role", "name", "phone", "email"]

    started = time.perf_counter()
    with open(path, "rb") as handle:
        book = tablib.Databook().load(handle.read(), format="xlsx")
    sheets = {sheet.title: sheet for sheet in book.sheets()}
    for resource_class, title in ((DealerResource, "Dealers"), (ContactResource, "Contacts")):
        dataset = tablib.Dataset(*sheets[title], headers=sheets[title].headers)
        result = resource_class().import_data(dataset, dry_run=False, raise_errors=True)
        assert not result.has_errors()
    elapsed = time.perf_counter() - started
    return _figures(elapsed, Dealer.objects.count(), DealerContact.objects.count())


def _figures(elapsed, dealers, contacts):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = dealers + contacts
    return {
        "seconds": round(elapsed, 2),
        "rows": rows,
        "rows_per_second": round(rows / elapsed, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


if __name__ == "__main__":
    import django

    django.setup()
    mode, path, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(
        json.dumps(
            {
                "generate": generate,
                "prepare": prepare,
                "pipeline": pipeline,
                "import_export": import_export,
            }[mode](path, rows)
        )
    )
