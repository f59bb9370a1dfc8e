import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter

from ssa_ops.attachments import EXCEL_KINDS, UploadRejected, attachment_create, upload_check
from ssa_ops.models import Attachment
from tests.dealers.factories import DealerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def image(fmt, size=(40, 30), mode="RGB"):
    output = io.BytesIO()
    Image.new(mode, size).save(output, fmt)
    return output.getvalue()


def pdf(pages):
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def upload(name, content):
    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize(
    ("content", "mime"),
    [(image("PNG"), "image/png"), (image("JPEG"), "image/jpeg"), (pdf(2), "application/pdf")],
)
def test_accepted_documents_are_stored_privately_with_their_hash(content, mime, settings):
    owner = DealerFactory()
    attachment = attachment_create(owner=owner, upload=upload("scan.bin", content), actor=None)
    assert attachment.mime_type == mime
    assert attachment.size == len(content)
    import hashlib

    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.original_name == "scan.bin"
    assert attachment.file.path.startswith(str(settings.MEDIA_ROOT / "private"))
    assert "scan" not in attachment.file.name
    with pytest.raises(NotImplementedError):
        attachment.file.url  # noqa: B018 - private files have no public URL


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("invoice.pdf", b"MZ\x90\x00 this is an exe", "not accepted"),
        ("photo.png", b"", "empty"),
        ("invoice.pdf", b"%PDF-1.7 truncated garbage", "damaged"),
        ("photo.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "damaged"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message_and_nothing_is_stored(
    name, content, message, settings
):
    owner = DealerFactory()
    with pytest.raises(UploadRejected) as error:
        attachment_create(owner=owner, upload=upload(name, content), actor=None)
    assert message in error.value.message
    assert Attachment.objects.count() == 0
    private = settings.MEDIA_ROOT / "private"
    assert not private.exists() or not any(p.is_file() for p in private.rglob("*"))


def test_size_limit(settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    with pytest.raises(UploadRejected) as error:
        upload_check(upload=upload("big.pdf", pdf(1) + b" " * 2000))
    assert error.value.message == "The file is 2.4\xa0KB; at most 1000\xa0bytes is allowed."


def test_pixel_limit_stops_decompression_bombs(settings):
    settings.ATTACHMENT_MAX_PIXELS = 10_000
    with pytest.raises(UploadRejected) as error:
        upload_check(upload=upload("bomb.png", image("PNG", size=(200, 200), mode="1")))
    assert "200×200" in error.value.message


def test_pdf_page_limit(settings):
    settings.ATTACHMENT_MAX_PDF_PAGES = 3
    assert upload_check(upload=upload("ok.pdf", pdf(3))).kind == "pdf"
    with pytest.raises(UploadRejected) as error:
        upload_check(upload=upload("long.pdf", pdf(4)))
    assert "4 pages" in error.value.message


def test_excel_only_where_a_feature_imports():
    import openpyxl

    output = io.BytesIO()
    openpyxl.Workbook().save(output)
    with pytest.raises(UploadRejected):
        upload_check(upload=upload("d.xlsx", output.getvalue()))
    assert (
        upload_check(upload=upload("d.xlsx", output.getvalue()), allowed_kinds=EXCEL_KINDS).kind
        == "xlsx"
    )
    import zipfile

    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(UploadRejected) as error:
        upload_check(upload=upload("d.xlsx", other_zip.getvalue()), allowed_kinds=EXCEL_KINDS)
    assert "not an Excel workbook" in error.value.message
