import io
import zipfile

import pytest

from ssa_ops import ofd
from ssa_ops.ofd import OfdError, ofd_open

OFD_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" DocType="OFD" Version="1.1">'
    "<ofd:DocBody><ofd:DocInfo><ofd:CustomDatas>"
    '<ofd:CustomData Name="发票号码">12345678</ofd:CustomData>'
    "</ofd:CustomDatas></ofd:DocInfo>"
    "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
)
DOCUMENT_XML = (
    '<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData>'
    "<ofd:PageArea><ofd:PhysicalBox>0 0 210 140</ofd:PhysicalBox></ofd:PageArea>"
    '<ofd:TemplatePage ID="2" BaseLoc="Tpls/Tpl_0/Content.xml"/></ofd:CommonData>'
    '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
    "<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments></ofd:Document>"
)
TEMPLATE_XML = (
    '<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer ID="3">'
    '<ofd:TextObject ID="4" Boundary="148 7 30 5" Size="3">'
    '<ofd:TextCode X="0" Y="3">发票号码：</ofd:TextCode></ofd:TextObject>'
    "</ofd:Layer></ofd:Content></ofd:Page>"
)
PAGE_XML = (
    '<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Template TemplateID="2"/>'
    '<ofd:Content><ofd:Layer ID="5"><ofd:TextObject ID="6" Boundary="164 7 40 5" Size="3">'
    '<ofd:TextCode X="1" Y="4" DeltaX="g 7 1.5">12345678</ofd:TextCode>'
    "</ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>"
)
ATTACHMENTS_XML = (
    '<ofd:Attachments xmlns:ofd="http://www.ofdspec.org/2016">'
    '<ofd:Attachment ID="9" Name="original_invoice" Format="xml">'
    "<ofd:FileLoc>original_invoice.xml</ofd:FileLoc></ofd:Attachment></ofd:Attachments>"
)
INVOICE_XML = "<eInvoice><InvoiceNo>12345678</InvoiceNo></eInvoice>"


def _package(entries: dict[str, bytes | str], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _valid_entries() -> dict[str, str]:
    return {
        "OFD.xml": OFD_XML,
        "Doc_0/Document.xml": DOCUMENT_XML,
        "Doc_0/Tpls/Tpl_0/Content.xml": TEMPLATE_XML,
        "Doc_0/Pages/Page_0/Content.xml": PAGE_XML,
        "Doc_0/Attachs/Attachments.xml": ATTACHMENTS_XML,
        "Doc_0/Attachs/original_invoice.xml": INVOICE_XML,
    }


def test_ofd_open_reads_pages_templates_custom_data_and_attachment():
    # given a small, valid OFD package
    data = _package(_valid_entries())

    # when it is opened
    document = ofd_open(data)

    # then the page carries its template's label and its own value, in millimetres
    page = document.pages[0]
    assert (page.width, page.height) == (210.0, 140.0)
    assert [item.text for item in page.texts] == ["发票号码：", "12345678"]
    value = page.texts[1]
    assert (value.x, value.y, value.width, value.height) == (165.0, 8.0, 13.5, 3.0)
    assert document.custom_data == {"发票号码": "12345678"}
    assert document.attachment_names() == ["original_invoice"]
    assert document.structured_xml() == INVOICE_XML.encode()


@pytest.mark.parametrize(
    "name", ["../evil.xml", "Doc_0/../../evil.xml", "/etc/passwd", "C:/evil.xml", "a\\..\\b"]
)
def test_ofd_open_refuses_entry_names_that_leave_the_package(name):
    # given a package with one unsafe entry name beside valid parts
    entries = _valid_entries()
    entries[name] = "x"

    # when / then it is refused before anything is read
    with pytest.raises(OfdError) as raised:
        ofd_open(_package(entries))
    assert raised.value.code == "unsafe_path"


def test_ofd_open_refuses_a_location_that_leaves_the_package():
    # given a DocRoot that points outside the package
    entries = _valid_entries()
    entries["OFD.xml"] = OFD_XML.replace("Doc_0/Document.xml", "../../Document.xml")

    with pytest.raises(OfdError) as raised:
        ofd_open(_package(entries))
    assert raised.value.code == "unsafe_path"


def test_ofd_open_refuses_an_entry_compressed_too_far():
    # given a 30 MB entry of zeros (deflates about a thousandfold)
    entries = _valid_entries()
    entries["Doc_0/Res/bomb.bin"] = b"\0" * (30 * 1024 * 1024)

    with pytest.raises(OfdError) as raised:
        ofd_open(_package(entries))
    assert raised.value.code in {"compression_ratio", "too_large"}


def test_ofd_open_refuses_a_package_larger_than_the_limit(monkeypatch):
    # given a limit lowered below the package's unpacked size (stored, so no ratio check)
    monkeypatch.setattr(ofd, "MAX_UNPACKED_BYTES", 1000)
    entries = _valid_entries()
    entries["Doc_0/Res/big.bin"] = b"x" * 2000

    with pytest.raises(OfdError) as raised:
        ofd_open(_package(entries, zipfile.ZIP_STORED))
    assert raised.value.code == "too_large"


def test_ofd_open_refuses_too_many_entries():
    entries = _valid_entries()
    for index in range(ofd.MAX_ENTRIES):
        entries[f"Doc_0/Res/{index}.bin"] = ""

    with pytest.raises(OfdError) as raised:
        ofd_open(_package(entries))
    assert raised.value.code == "too_many_entries"


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"", "empty"), (b"%PDF-1.7 not a zip", "not_zip"), (b"PK\x03\x04broken", "not_zip")],
)
def test_ofd_open_refuses_what_is_not_a_zip(data, code):
    with pytest.raises(OfdError) as raised:
        ofd_open(data)
    assert raised.value.code == code


def test_ofd_open_refuses_a_zip_without_ofd_xml():
    with pytest.raises(OfdError) as raised:
        ofd_open(_package({"Doc_0/Document.xml": DOCUMENT_XML}))
    assert raised.value.code == "missing_part"


def test_ofd_open_refuses_entity_expansion():
    # given an OFD.xml carrying a billion-laughs style entity declaration
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><OFD>&lol2;</OFD>'
    )
    entries = _valid_entries()
    entries["OFD.xml"] = bomb

    with pytest.raises(OfdError) as raised:
        ofd_open(_package(entries))
    assert raised.value.code == "bad_xml"


def test_ofd_open_refuses_a_package_without_document():
    entries = _valid_entries()
    entries["OFD.xml"] = '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>'

    with pytest.raises(OfdError) as raised:
        ofd_open(_package(entries))
    assert raised.value.code == "no_document"
