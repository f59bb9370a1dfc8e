"""Imports read .xlsx, .xls and .csv alike, and refuse what is over the limits before reading."""

import io
import random
import re
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from dealers.credit_code import credit_code_generate
from dealers.excel import DealerImportSpec
from dealers.models import Dealer, DealerContact
from ssa_ops.attachments import EXCEL_KINDS, UploadRejected, upload_check
from ssa_ops.excel_import import excel_import_run
from ssa_ops.models import BackgroundJob
from ssa_ops.roles import Role
from ssa_ops.tabular import TabularError, rows_read, tabular_check
from tests.dealers.factories import RegionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
rng = random.Random(23)
HEADER_ZH = "经销商代码,中文名称,英文名称,大区,集团,状态,法人实体,统一社会信用代码,地址"


def dealer_line(code, name):
    credit = credit_code_generate(rng)
    return f"{code},{name},,N,,正常,{name}有限公司,{credit},{name}路1号"


def bomb(rows=260_000, *, varied=True):
    """A small .xlsx whose one sheet unpacks to about 220 bytes a row (260k rows: 56 MB).
    Varied, it packs about 70-fold (780 KB); not varied, more than a thousandfold."""
    output = io.BytesIO()
    cells = b'<c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="s"><v>2</v></c>' * 3
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "xl/workbook.xml",
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Dealers" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b"<worksheet><sheetData>")
            for start in range(0, rows, 1000):
                sheet.write(
                    b"".join(
                        b"<row>%s<c><v>%d</v></c></row>" % (cells, n % 4099 if varied else 0)
                        for n in range(start, start + 1000)
                    )
                )
            sheet.write(b"</sheetData></worksheet>")
    return output.getvalue()


def media_files(settings):
    return [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


@pytest.fixture
def region():
    return RegionFactory(code="N")


def import_upload(client, make_user, name, content, capture):
    client.force_login(make_user(Role.OPS_LEAD, language="en"))
    with capture(execute=True):
        return client.post("/dealers/import/", {"file": SimpleUploadedFile(name, content)})


# .xlsx


def test_rows_come_one_at_a_time_numbered_as_in_excel():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Dealers"
    sheet["A1"], sheet["B1"] = "Dealer code", "Name"
    sheet["A3"], sheet["B3"] = "D1", 12.5
    other = book.create_sheet("Notes")
    other["A1"] = "x"
    output = io.BytesIO()
    book.save(output)
    rows = list(rows_read(output.getvalue(), "d.xlsx", sheets={"Dealers"}))
    assert rows == [
        ("Dealers", 1, ["Dealer code", "Name"]),
        ("Dealers", 2, ["", ""]),
        ("Dealers", 3, ["D1", 12.5]),
    ]
    info = tabular_check(output.getvalue(), "d.xlsx")
    assert (info.kind, info.rows) == ("xlsx", 3)


@pytest.mark.parametrize(
    ("varied", "code", "message"),
    [
        (
            True,
            "too_many_rows",
            "The file has more than 100,000 rows; at most 100,000 can be imported at once.",
        ),
        (
            False,
            "compression_ratio",
            "The workbook part xl/worksheets/sheet1.xml unpacks to more than 100 times its "
            "packed size; such files are refused as zip bombs.",
        ),
    ],
)
def test_the_spreadsheet_bomb_is_refused_before_a_row_is_read(settings, varied, code, message):
    # given a 260,000-row workbook of under 1 MB that unpacks to 56 MB
    data = bomb(varied=varied)
    assert len(data) < 1_000_000
    # when it is checked
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(TabularError) as error:
        tabular_check(data, "dealers.xlsx")
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # then it is refused by its row count (or its packing), fast and in bounded memory
    assert (error.value.code, error.value.message) == (code, message)
    assert elapsed < 5
    assert peak < 20 * 1024 * 1024


def test_the_bomb_uploaded_to_the_dealer_import_starts_no_job(
    region, client, make_user, settings, django_capture_on_commit_callbacks
):
    response = import_upload(
        client, make_user, "dealers.xlsx", bomb(), django_capture_on_commit_callbacks
    )
    assert response.status_code == 200
    assert "The file has more than 100,000 rows" in response.content.decode()
    assert BackgroundJob.objects.count() == 0
    assert Dealer.objects.count() == 0
    assert media_files(settings) == []


def test_unpacked_size_and_compression_ratio_are_limited(settings):
    settings.IMPORT_MAX_UNPACKED_BYTES = 10 * 1024 * 1024
    with pytest.raises(TabularError) as error:
        tabular_check(bomb(60_000), "d.xlsx")
    assert error.value.code == "unpacked_too_large"
    assert error.value.message.endswith("at most 10.0 MB can be read. Split it into smaller files.")
    settings.IMPORT_MAX_UNPACKED_BYTES = 200 * 1024 * 1024
    padded = io.BytesIO()
    with zipfile.ZipFile(padded, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", "<sst>" + " " * 5_000_000 + "</sst>")
    with pytest.raises(TabularError) as error:
        tabular_check(padded.getvalue(), "d.xlsx")
    assert error.value.message == (
        "The workbook part xl/sharedStrings.xml unpacks to more than 100 times its packed "
        "size; such files are refused as zip bombs."
    )


def test_a_zip_directory_that_understates_a_part_is_not_believed():
    # given a workbook whose sheet claims to unpack to 100 bytes but holds far more
    data = bytearray(bomb(2_000))
    sheet = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml")
    data[sheet.header_offset + 22 : sheet.header_offset + 26] = (100).to_bytes(4, "little")
    for entry in re.finditer(rb"PK\x01\x02", data):
        start = entry.start()
        name_length = int.from_bytes(data[start + 28 : start + 30], "little")
        if data[start + 46 : start + 46 + name_length] == b"xl/worksheets/sheet1.xml":
            data[start + 24 : start + 28] = (100).to_bytes(4, "little")
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml").file_size == 100
    # then measuring it by inflating shows the lie
    with pytest.raises(TabularError) as error:
        tabular_check(bytes(data), "d.xlsx")
    assert error.value.code == "unreadable_file"


# .xls


def test_an_xls_from_a_legacy_system_imports_through_the_upload(
    region, client, make_user, settings, django_capture_on_commit_callbacks
):
    content = (FIXTURES / "dealers.xls").read_bytes()
    assert (
        upload_check(
            upload=SimpleUploadedFile("legacy.xls", content), allowed_kinds=EXCEL_KINDS
        ).kind
        == "xls"
    )
    response = import_upload(
        client, make_user, "legacy.xls", content, django_capture_on_commit_callbacks
    )
    job = BackgroundJob.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.status == BackgroundJob.Status.SUCCEEDED
    assert job.summary == {"created": 2, "updated": 0, "contacts": 1}
    assert set(Dealer.objects.values_list("code", "name_zh")) == {
        ("X001", "上海旧系统汽车"),
        ("X002", "杭州旧系统汽车"),
    }
    contact = DealerContact.objects.get()
    assert (contact.name, contact.phone, contact.role) == ("赵六", "13900139000", "finance")


def test_an_xls_over_the_row_limit_is_refused(region, make_user, settings):
    settings.IMPORT_MAX_ROWS = 2
    with pytest.raises(TabularError) as error:
        excel_import_run(
            spec=DealerImportSpec(),
            source=(FIXTURES / "dealers.xls").read_bytes(),
            actor=make_user(Role.OPS_LEAD),
            filename="legacy.xls",
        )
    assert error.value.code == "too_many_rows"
    assert Dealer.objects.count() == 0


# .csv


def test_a_gbk_csv_imports_end_to_end(
    region, client, make_user, settings, django_capture_on_commit_callbacks
):
    # given a GBK csv as IT hands it over, with Chinese headers
    text = "\r\n".join(
        [HEADER_ZH, dealer_line("C001", "北京测试汽车"), dealer_line("C002", "天津汽车")]
    )
    content = (text + "\r\n").encode("gbk")
    # when it is uploaded to the dealer import
    response = import_upload(
        client, make_user, "dealers.csv", content, django_capture_on_commit_callbacks
    )
    # then the job created both dealers with their Chinese names intact
    job = BackgroundJob.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.status == BackgroundJob.Status.SUCCEEDED
    assert job.summary == {"created": 2, "updated": 0, "contacts": 0}
    assert dict(Dealer.objects.values_list("code", "name_zh")) == {
        "C001": "北京测试汽车",
        "C002": "天津汽车",
    }


def test_a_bad_gbk_csv_gets_the_xlsx_error_report(region, make_user):
    content = "\n".join([HEADER_ZH, dealer_line("C001", "北京汽车").replace(",N,", ",ZZ,")])
    with translation.override("en"):
        result = excel_import_run(
            spec=DealerImportSpec(),
            source=content.encode("gb18030"),
            actor=make_user(Role.OPS_LEAD),
            filename="dealers.csv",
        )
    assert not result.ok
    assert [(e.row, e.column) for e in result.errors] == [(2, "Region")]
    report = openpyxl.load_workbook(io.BytesIO(result.error_workbook))
    assert report.sheetnames[1] == "dealers"
    assert report["dealers"]["B2"].value == "北京汽车"
    assert Dealer.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        ("代码,名称\nA1,北京\n".encode("utf-8-sig"), "utf-8-sig"),
        ("代码,名称\nA1,北京\n".encode(), "utf-8"),
        ("代码,名称\nA1,北京\n".encode("gbk"), "gb18030"),
        ("代码,名称\nA1,\U00020000\n".encode("gb18030"), "gb18030"),
        (b"code,name\nA1,Beijing\n", "utf-8"),
    ],
)
def test_csv_encodings_are_detected(content, encoding):
    assert tabular_check(content, "d.csv").encoding == encoding
    assert list(rows_read(content, "d.csv"))[0][2][0] in ("代码", "code")
    assert list(rows_read(content, "d.csv"))[1][1:] in (
        (2, ["A1", "北京"]),
        (2, ["A1", "\U00020000"]),
        (2, ["A1", "Beijing"]),
    )


def test_a_csv_is_read_as_records_with_its_delimiter():
    content = '代码;名称;备注\nA1;北京;"两行\n备注;有分号"\n\nA2;天津;\n'.encode("gbk")
    assert list(rows_read(content, "d.csv")) == [
        ("d", 1, ["代码", "名称", "备注"]),
        ("d", 2, ["A1", "北京", "两行\n备注;有分号"]),
        ("d", 3, []),
        ("d", 4, ["A2", "天津", ""]),
    ]
    assert tabular_check(content, "d.csv").rows == 4


def test_a_csv_with_mixed_encodings_is_refused_and_nothing_is_left(
    region, client, make_user, settings, django_capture_on_commit_callbacks
):
    # given a csv whose second line was pasted in UTF-8 and third in GBK
    content = HEADER_ZH.encode() + b"\n"
    content += dealer_line("M001", "北京汽车").encode() + b"\n"
    content += dealer_line("M002", "天津汽车").encode("gbk") + b"\n"
    # when it is uploaded
    response = import_upload(
        client, make_user, "dealers.csv", content, django_capture_on_commit_callbacks
    )
    # then the refusal names the lines, and no job, dealer or file is left
    message = (
        "The CSV file mixes encodings: line 1 is UTF-8 but line 3 is GB18030/GBK. "
        "Save the whole file again in one encoding (CSV UTF-8)."
    )
    assert message in response.content.decode()
    with pytest.raises(UploadRejected) as error:
        upload_check(upload=SimpleUploadedFile("d.csv", content), allowed_kinds=EXCEL_KINDS)
    assert error.value.message == message
    assert BackgroundJob.objects.count() == 0
    assert Dealer.objects.count() == 0
    assert media_files(settings) == []


def test_a_csv_in_no_known_encoding_names_the_encodings_tried():
    with pytest.raises(TabularError) as error:
        tabular_check(b"code,name\nA1,\xff\xfe\xfd\n", "d.csv")
    assert error.value.message == (
        "Line 2 of the CSV file is in none of the encodings tried (UTF-8, GB18030/GBK). "
        "Save it again as CSV UTF-8."
    )
    assert error.value.extra == {"line": 2, "tried": ["UTF-8", "GB18030/GBK"]}


def test_a_csv_over_the_row_limit_is_refused(settings):
    settings.IMPORT_MAX_ROWS = 3
    content = b"code\n1\n2\n3\n"
    with pytest.raises(TabularError) as error:
        tabular_check(content, "d.csv")
    assert error.value.message == (
        "The file has more than 3 rows; at most 3 can be imported at once."
    )
    with pytest.raises(UploadRejected):
        upload_check(upload=SimpleUploadedFile("d.csv", content), allowed_kinds=EXCEL_KINDS)


def test_csv_is_accepted_only_where_imports_allow_it():
    content = b"code,name\nA1,x\n"
    with pytest.raises(UploadRejected) as error:
        upload_check(upload=SimpleUploadedFile("d.csv", content))
    assert error.value.message.startswith("This type of file is not accepted.")
    with pytest.raises(UploadRejected):
        upload_check(upload=SimpleUploadedFile("d.txt.exe", content), allowed_kinds=EXCEL_KINDS)
    assert (
        upload_check(upload=SimpleUploadedFile("d.CSV", content), allowed_kinds=EXCEL_KINDS).kind
        == "csv"
    )
