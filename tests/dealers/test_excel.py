import io
import random

import openpyxl
import pytest
from django.utils import translation

from dealers.credit_code import credit_code_generate
from dealers.excel import DealerImportSpec
from dealers.models import Dealer, DealerContact
from ssa_ops.audit import audit_events_for
from ssa_ops.excel_import import cell_text, excel_import_run
from ssa_ops.jobs import job_error_rows, job_start
from ssa_ops.models import AuditEvent, BackgroundJob
from ssa_ops.roles import Role
from tests.dealers.factories import (
    DealerContactFactory,
    DealerFactory,
    DealerGroupFactory,
    RegionFactory,
)

pytestmark = pytest.mark.django_db
rng = random.Random(11)

DEALER_HEADER = [
    "Dealer code",
    "Chinese name",
    "English name",
    "Region",
    "Dealer group",
    "Status",
    "Legal entity",
    "Unified social credit code",
    "Address",
]
CONTACT_HEADER = ["Dealer code", "Role", "Name", "Phone", "Email", "Primary"]


def workbook(dealers, contacts=None, dealer_header=DEALER_HEADER):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Dealers"
    sheet.append(dealer_header)
    for row in dealers:
        sheet.append(row)
    if contacts is not None:
        contact_sheet = book.create_sheet("Contacts")
        contact_sheet.append(CONTACT_HEADER)
        for row in contacts:
            contact_sheet.append(row)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def dealer_row(code, region="N", group="", status="active", credit=None, name="北京测试汽车"):
    return [
        code,
        name,
        "Beijing Test",
        region,
        group,
        status,
        name + "有限公司",
        credit or credit_code_generate(rng),
        "北京市1号",
    ]


@pytest.fixture
def region():
    return RegionFactory(code="N")


def run(data, user, language="en"):
    with translation.override(language):
        return excel_import_run(spec=DealerImportSpec(), source=data, actor=user)


def test_valid_workbook_creates_dealers_and_contacts_with_audit(region, make_user):
    user = make_user(Role.OPS_LEAD)
    group = DealerGroupFactory(code="G01")
    data = workbook(
        [dealer_row("A001", group="G01"), dealer_row("A002")],
        [
            ["A001", "special_sales", "王芳", 13800138000, "WF@Dealer.example.com", "yes"],
            ["A001", "财务", "李四", "021-5555 1234", "", ""],
        ],
    )
    result = run(data, user)
    assert result.ok, result.errors
    assert result.summary == {"created": 2, "updated": 0, "contacts": 2}
    a001 = Dealer.objects.get(code="A001")
    assert a001.group == group and a001.region == region
    contacts = {c.name: c for c in a001.contacts.all()}
    assert contacts["王芳"].phone == "13800138000"  # a number cell keeps its digits
    assert contacts["王芳"].email == "wf@dealer.example.com" and contacts["王芳"].is_primary
    assert contacts["李四"].role == DealerContact.Role.FINANCE
    assert audit_events_for(a001).filter(action="import_create", actor=user).exists()


def test_any_bad_row_reports_every_problem_and_changes_nothing(region, make_user):
    user = make_user(Role.OPS_LEAD)
    existing = DealerFactory(code="OLD1", region=region)
    good = credit_code_generate(rng)
    data = workbook(
        [
            dealer_row("B001", credit=good),
            dealer_row("B002", region="ZZ"),  # unknown region
            dealer_row("B003", credit="91110000ABCDEFGH1X"),  # bad check character
            dealer_row("B001"),  # repeated code
            dealer_row("B005", credit=existing.credit_code),  # another dealer's credit code
            ["B006", "", "", "N", "", "", "实体", credit_code_generate(rng), ""],  # name missing
            dealer_row(
                "OLD1", status="terminated", credit=existing.credit_code
            ),  # status via import
        ],
        [
            ["B404", "finance", "王芳", "13800138000", "", ""],
            ["B001", "boss", "李四", "12", "not-an-email", ""],
        ],
    )
    audit_before = AuditEvent.objects.count()
    result = run(data, user)
    assert not result.ok
    found = {(e.sheet, e.row, e.column) for e in result.errors}
    assert found == {
        ("Dealers", 3, "Region"),
        ("Dealers", 4, "Unified social credit code"),
        ("Dealers", 5, "Dealer code"),
        ("Dealers", 6, "Unified social credit code"),
        ("Dealers", 7, "Chinese name"),
        ("Dealers", 8, "Status"),
        ("Dealers", 8, "Unified social credit code"),  # repeats row 6
        ("Contacts", 2, "Dealer code"),
        ("Contacts", 3, "Role"),
        ("Contacts", 3, "Phone"),
        ("Contacts", 3, "Email"),
    }
    assert Dealer.objects.count() == 1 and DealerContact.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before
    # the error workbook marks each bad cell with its message
    report = openpyxl.load_workbook(io.BytesIO(result.error_workbook))
    assert report.sheetnames == ["Errors", "Dealers", "Contacts"]
    assert report["Errors"].max_row == 1 + len(result.errors)
    bad_cell = report["Dealers"]["D3"]
    assert bad_cell.value == "ZZ"
    assert bad_cell.fill.fgColor.rgb.endswith("F8D7DA")
    assert "region" in bad_cell.comment.text.lower()
    assert report["Dealers"]["A2"].comment is None


def test_error_report_speaks_the_users_language(region, make_user):
    result = run(
        workbook([dealer_row("Z001", region="ZZ")]), make_user(Role.OPS_LEAD), language="zh-hans"
    )
    with translation.override("zh-hans"):
        assert [e.message_display for e in result.errors] == ["大区代码不存在。"]
    assert openpyxl.load_workbook(io.BytesIO(result.error_workbook)).sheetnames[0] == "错误"


def test_missing_required_column_is_reported(region, make_user):
    header = [h for h in DEALER_HEADER if h != "Legal entity"]
    row = dealer_row("C001")
    del row[6]
    result = run(workbook([row], dealer_header=header), make_user(Role.OPS_LEAD))
    assert not result.ok
    assert [(e.row, e.column) for e in result.errors] == [(1, "Legal entity")]


def test_chinese_headers_are_accepted(region, make_user):
    header = [
        "经销商代码",
        "中文名称",
        "英文名称",
        "大区",
        "集团",
        "状态",
        "法人实体",
        "统一社会信用代码",
        "地址",
    ]
    result = run(workbook([dealer_row("D001")], dealer_header=header), make_user(Role.OPS_LEAD))
    assert result.ok, result.errors
    assert Dealer.objects.filter(code="D001").exists()


def test_reimport_updates_changed_dealers_and_replaces_their_contacts(region, make_user):
    user = make_user(Role.OPS_LEAD)
    dealer = DealerFactory(code="E001", region=region, name_zh="旧名称")
    DealerContactFactory(dealer=dealer, name="旧联系人")
    row = [
        dealer.code,
        "新名称",
        dealer.name_en,
        "N",
        "",
        "active",
        dealer.legal_entity,
        dealer.credit_code,
        dealer.address,
    ]
    result = run(workbook([row], [["E001", "finance", "新联系人", "13800000000", "", "yes"]]), user)
    assert result.ok, result.errors
    assert result.summary == {"created": 0, "updated": 1, "contacts": 1}
    dealer.refresh_from_db()
    assert dealer.name_zh == "新名称"
    assert [c.name for c in dealer.contacts.all()] == ["新联系人"]
    assert audit_events_for(dealer).get(action="import_update").changes == {
        "name_zh": ["旧名称", "新名称"],
        "contacts": 1,
    }


def test_export_then_import_round_trips(region, make_user, django_capture_on_commit_callbacks):
    user = make_user(Role.OPS_LEAD)
    for index in range(3):
        dealer = DealerFactory(region=region)
        DealerContactFactory(dealer=dealer, is_primary=True, name=f"主联系人{index}")
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="dealer_export", actor=user)
    job.refresh_from_db()
    assert job.status == BackgroundJob.Status.SUCCEEDED
    exported = job.result_file.open("rb").read()
    sheet = openpyxl.load_workbook(io.BytesIO(exported))["Dealers"]
    assert sheet.max_row == 4
    assert sheet.cell(1, 10).value == "Region name"
    assert sheet.cell(1, 11).value == "Primary contact"
    assert {sheet.cell(r, 11).value for r in range(2, 5)} == {"主联系人0", "主联系人1", "主联系人2"}
    result = run(exported, user)
    assert result.ok, result.errors
    assert result.summary["created"] == 0 and result.summary["updated"] == 0


def test_import_job_reports_errors_and_offers_the_error_workbook(
    region, make_user, django_capture_on_commit_callbacks
):
    user = make_user(Role.OPS_LEAD, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(
            kind="dealer_import",
            actor=user,
            input_bytes=workbook([dealer_row("F001", region="XX")]),
            input_name="dealers.xlsx",
        )
    job.refresh_from_db()
    assert job.status == BackgroundJob.Status.FAILED
    assert job.error_count == 1
    with translation.override("en"):
        assert job_error_rows(job) == [
            {"sheet": "Dealers", "row": 2, "column": "Region", "message": "Unknown region code."}
        ]
    assert job.result_file.name.endswith(".xlsx")
    assert not Dealer.objects.filter(code="F001").exists()


def test_an_import_refused_for_an_english_user_reads_in_chinese_to_a_chinese_user(
    region, make_user, client, django_capture_on_commit_callbacks
):
    # given: an import started by an English-speaking lead fails on a bad region
    english_lead = make_user(Role.OPS_LEAD, language="en")
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        job = job_start(
            kind="dealer_import",
            actor=english_lead,
            input_bytes=workbook([dealer_row("F002", region="XX")]),
            input_name="dealers.xlsx",
        )
    # when: an admin whose language is Chinese opens the job and downloads its report
    chinese_admin = make_user(Role.ADMIN, language="zh-hans")
    client.force_login(chinese_admin)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    download = client.get(f"/jobs/{job.pk}/download/")
    report = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    # then: the message, the error rows and the workbook speak Chinese
    assert "发现 1 个问题" in page and "大区代码不存在。" in page
    assert "Unknown region code." not in page
    # (the uploaded sheet keeps the name it was uploaded with)
    assert report.sheetnames == ["错误", "Dealers"]
    assert [cell.value for cell in report["错误"][2]] == ["经销商", 2, "大区", "大区代码不存在。"]
    assert report["Dealers"]["D2"].comment.text == "大区代码不存在。"
    # and the English lead still reads it in English
    client.force_login(english_lead)
    assert "Unknown region code." in client.get(f"/jobs/{job.pk}/").content.decode()


def test_cell_text_keeps_what_a_person_typed():
    assert cell_text(13800138000.0) == "13800138000"
    assert cell_text(12.5) == "12.5"
    assert cell_text(None) == ""
    assert cell_text("  A1 ") == "A1"


def test_the_downloaded_template_imports_once_filled_in(client, make_user, region):
    lead = make_user(Role.OPS_LEAD)
    client.force_login(lead)
    response = client.get("/dealers/import/template/")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    # the reader's language, each header with its field code, an example row, drop-downs
    assert book.sheetnames == ["经销商", "联系人"]
    dealers_sheet = book["经销商"]
    assert dealers_sheet["A1"].value == "经销商代码 [code]"
    assert dealers_sheet["A2"].value == "D0101"
    status_lists = [v for v in dealers_sheet.data_validations.dataValidation if v.type == "list"]
    assert status_lists and "active" in status_lists[0].formula1
    book.active = 0
    book["经销商"].append(dealer_row("T9001"))
    book["联系人"].append(["T9001", "finance", "钱会计", "13700001111", "", "yes"])
    output = io.BytesIO()
    book.save(output)
    result = run(output.getvalue(), lead)
    assert result.ok, result.errors
    assert Dealer.objects.get(code="T9001").contacts.get().name == "钱会计"
