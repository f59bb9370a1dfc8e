"""The files people actually send: HEIC photos, multi-page TIFF scans, OFD e-invoices, and the
download name that follows what a file is, not what it is called."""

import io
import zipfile

import pillow_heif
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from PIL import Image
from pypdf import PdfWriter
from rest_framework.test import APIClient

from dealers.models import DealerChangeRequest
from ssa_ops.attachment_api import AttachmentSerializer
from ssa_ops.attachments import (
    DOCUMENT_KINDS,
    UploadRejected,
    attachment_create,
    attachments_for,
    upload_check,
)
from ssa_ops.models import Attachment, AttachmentRendition
from ssa_ops.renditions import _cjk_font_path
from ssa_ops.roles import Role
from ssa_ops.tasks import render_attachment
from tests.dealers.factories import DealerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def heic(size=(64, 48), color=(200, 30, 30)):
    output = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", size, color)).save(output, quality=80)
    return output.getvalue()


def tiff(pages):
    """A multi-page TIFF, one page per (mode, size)."""
    images = [Image.new(mode, size, 128 if mode != "1" else 1) for mode, size in pages]
    output = io.BytesIO()
    images[0].save(output, "TIFF", save_all=True, append_images=images[1:])
    return output.getvalue()


THREE_PAGES = [("1", (80, 60)), ("L", (100, 50)), ("RGB", (40, 30))]


def pdf():
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def real_ofd(settings):
    path = settings.BASE_DIR.parent / "shared" / "invoices-real-dev" / "ofdrw-1.ofd"
    if not path.exists():
        pytest.skip("the real OFD invoice is not beside the repository")
    return path.read_bytes()


def ofd_with(data: bytes, name: str, content: bytes) -> bytes:
    """The OFD with one more zip entry."""
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr(name, content)
    return output.getvalue()


def stored_files(settings):
    private = settings.MEDIA_ROOT / "private"
    return sorted(p for p in private.rglob("*") if p.is_file()) if private.exists() else []


@pytest.fixture
def owner(make_user):
    dealer = DealerFactory()
    return DealerChangeRequest.objects.create(
        dealer=dealer, created_by=make_user(Role.DEALER, dealer=dealer)
    )


def attach(owner, name, content, capture):
    with capture(execute=True):
        attachment = attachment_create(
            owner=owner, upload=SimpleUploadedFile(name, content), actor=None
        )
    attachment.refresh_from_db()
    return attachment


def test_a_heic_photo_is_kept_as_sent_and_shown_as_jpeg(
    owner, settings, django_capture_on_commit_callbacks
):
    # given an iPhone photo
    content = heic(size=(64, 48))
    # when it is uploaded
    attachment = attach(owner, "IMG_0001.HEIC", content, django_capture_on_commit_callbacks)
    # then the original is kept, named by what it is, and a JPEG rendition was made by the task
    assert attachment.mime_type == "image/heic"
    assert attachment.file.name.endswith(".heic")
    with attachment.file.open("rb") as stored:
        assert stored.read() == content
    assert attachment.rendition_status == Attachment.RenditionStatus.READY
    assert attachment.rendition_error == ""
    (rendition,) = attachment.renditions.all()
    assert (rendition.page, rendition.mime_type) == (1, "image/jpeg")
    assert (rendition.width, rendition.height) == (64, 48)
    with rendition.file.open("rb") as stored, Image.open(stored) as image:
        assert (image.format, image.size) == ("JPEG", (64, 48))


def test_a_truncated_heic_is_refused_and_leaves_nothing(owner, settings):
    # given a HEIC cut short in transfer
    content = heic(size=(256, 192))
    # when it is uploaded
    with pytest.raises(UploadRejected) as error:
        attachment_create(
            owner=owner, upload=SimpleUploadedFile("IMG.heic", content[:-200]), actor=None
        )
    # then a clear refusal, and no record nor file
    assert error.value.message == (
        "The HEIC/HEIF image is damaged or incomplete and cannot be read."
    )
    assert Attachment.objects.count() == 0
    assert stored_files(settings) == []


def test_a_three_page_tiff_gets_one_image_a_page(
    owner, settings, django_capture_on_commit_callbacks
):
    # given a scanner's three-page TIFF: black-and-white, grey and colour pages
    attachment = attach(owner, "scan.tif", tiff(THREE_PAGES), django_capture_on_commit_callbacks)
    # then every page is viewable: grey scans as PNG, colour as JPEG
    assert attachment.mime_type == "image/tiff"
    assert attachment.file.name.endswith(".tif")
    assert attachment.rendition_status == Attachment.RenditionStatus.READY
    assert [(r.page, r.mime_type, r.width, r.height) for r in attachment.renditions.all()] == [
        (1, "image/png", 80, 60),
        (2, "image/png", 100, 50),
        (3, "image/jpeg", 40, 30),
    ]


def test_tiff_pages_and_pixels_are_limited(settings):
    # given a page limit of 2, then a pixel limit of 4,900 a page
    settings.ATTACHMENT_MAX_PDF_PAGES = 2
    with pytest.raises(UploadRejected) as error:
        upload_check(upload=SimpleUploadedFile("scan.tif", tiff(THREE_PAGES)))
    assert error.value.message == "The TIFF has 3 pages; at most 2 are allowed."
    settings.ATTACHMENT_MAX_PDF_PAGES = 200
    settings.ATTACHMENT_MAX_PIXELS = 4_900
    with pytest.raises(UploadRejected) as error:
        upload_check(upload=SimpleUploadedFile("scan.tif", tiff(THREE_PAGES)))
    assert error.value.message == (
        "Page 2 is 100×50 pixels; at most 4,900 pixels are allowed a page."
    )


def test_a_truncated_tiff_is_refused_and_leaves_nothing(owner, settings):
    content = tiff([("RGB", (200, 200))])
    with pytest.raises(UploadRejected) as error:
        attachment_create(
            owner=owner, upload=SimpleUploadedFile("scan.tif", content[:5000]), actor=None
        )
    assert error.value.message == "The TIFF file is damaged and cannot be read."
    assert Attachment.objects.count() == 0
    assert stored_files(settings) == []


def test_an_ofd_invoice_shows_its_text_and_first_page(
    owner, settings, django_capture_on_commit_callbacks
):
    # given a real OFD e-invoice
    content = real_ofd(settings)
    # when it is uploaded
    attachment = attach(owner, "invoice.ofd", content, django_capture_on_commit_callbacks)
    # then its pages' text is read, with the invoice's own numbers and names
    assert attachment.mime_type == "application/ofd"
    assert attachment.file.name.endswith(".ofd")
    assert attachment.rendition_status == Attachment.RenditionStatus.READY
    assert len(attachment.rendition_text) == 1
    text = attachment.rendition_text[0]
    for field in ("83089647", "033002000211", "兰溪市悦济舫餐厅", "江苏京利华新材料有限公司"):
        assert field in text
    # and, where a Chinese font is installed, an image of the first page drawn from that text
    pages = [(r.page, r.mime_type) for r in attachment.renditions.all()]
    assert pages == ([(1, "image/png")] if _cjk_font_path() else [])


@pytest.mark.parametrize(
    ("entry", "content", "message"),
    [
        (
            "../../etc/cron.d/evil",
            b"* * * * * root true",
            "The OFD file holds a part whose name points outside it; it is refused.",
        ),
        (
            "Doc_0/Res/huge.bin",
            bytes(21 * 1024 * 1024),
            "The OFD file unpacks to too much data to read safely.",
        ),
    ],
)
def test_an_unsafe_ofd_is_refused_and_leaves_nothing(owner, settings, entry, content, message):
    # given the real invoice with a path-traversal entry, or an entry unpacking to 21 MB
    hostile = ofd_with(real_ofd(settings), entry, content)
    # when it is uploaded
    with pytest.raises(UploadRejected) as error:
        attachment_create(owner=owner, upload=SimpleUploadedFile("i.ofd", hostile), actor=None)
    # then it is refused with the reason, and nothing is stored
    assert error.value.message == message
    assert Attachment.objects.count() == 0
    assert stored_files(settings) == []


def test_a_zip_that_is_no_ofd_is_refused(owner, settings):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as target:
        target.writestr("Doc_0/Document.xml", "<Document/>")
    with pytest.raises(UploadRejected) as error:
        attachment_create(
            owner=owner, upload=SimpleUploadedFile("i.ofd", archive.getvalue()), actor=None
        )
    assert error.value.message == "The file is a zip archive but not a valid OFD document."
    assert Attachment.objects.count() == 0
    assert stored_files(settings) == []


def test_a_pdf_html_polyglot_downloads_as_pdf(owner, client, make_user):
    # given a PDF that is also an HTML page, named licence.html
    polyglot = pdf() + b"\n<html><script>alert(document.cookie)</script></html>\n"
    attachment = attachment_create(
        owner=owner, upload=SimpleUploadedFile("licence.html", polyglot), actor=None
    )
    assert attachment.mime_type == "application/pdf"
    assert attachment.file.name.endswith(".pdf")
    assert attachment.original_name == "licence.html"
    # when someone who sees the request downloads it
    client.force_login(make_user(Role.OPS))
    response = client.get(f"/attachments/{attachment.pk}/")
    # then it comes as a PDF, named .pdf, and the browser may not guess otherwise
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="licence.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == polyglot


def test_renditions_are_served_through_the_owners_scope(
    owner, client, make_user, django_capture_on_commit_callbacks
):
    attachment = attach(owner, "IMG_7.heic", heic(), django_capture_on_commit_callbacks)
    # the dealer who filed the request sees the preview, inline
    client.force_login(owner.created_by)
    response = client.get(f"/attachments/{attachment.pk}/pages/1/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'inline; filename="IMG_7-1.jpg"'
    assert response["X-Content-Type-Options"] == "nosniff"
    # the original downloads with its detected extension
    response = client.get(f"/attachments/{attachment.pk}/?inline=1")
    assert response["Content-Disposition"] == 'attachment; filename="IMG_7.heic"'
    assert client.get(f"/attachments/{attachment.pk}/pages/2/").status_code == 404
    # another dealer sees neither
    client.force_login(make_user(Role.DEALER))
    assert client.get(f"/attachments/{attachment.pk}/pages/1/").status_code == 404
    assert client.get(f"/attachments/{attachment.pk}/").status_code == 404


def test_the_rendition_task_runs_once(owner, settings, django_capture_on_commit_callbacks):
    attachment = attach(owner, "scan.tiff", tiff(THREE_PAGES), django_capture_on_commit_callbacks)
    files_before = stored_files(settings)
    # when the task is delivered again (acks_late after a lost worker)
    assert render_attachment.delay(str(attachment.pk)).get() == "ready"
    # then nothing is made twice
    assert AttachmentRendition.objects.filter(attachment=attachment).count() == 3
    assert stored_files(settings) == files_before
    # and an attachment that needs none is left alone
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    plain = attach(owner, "a.png", png.getvalue(), django_capture_on_commit_callbacks)
    assert plain.rendition_status == Attachment.RenditionStatus.NONE
    assert render_attachment.delay(str(plain.pk)).get() == "none"


def test_the_api_reports_the_detected_type_and_the_rendition(
    owner, make_user, django_capture_on_commit_callbacks
):
    # given a HEIC photo sent with a .jpg name
    attachment = attach(owner, "photo.jpg", heic(), django_capture_on_commit_callbacks)
    api = APIClient()
    api.force_authenticate(owner.created_by)
    # when the filer reads it through the API
    response = api.get(f"/api/v1/attachments/{attachment.pk}/")
    # then it reports what the file is and its rendition, with links to both
    assert response.status_code == 200
    data = response.json()
    assert data["original_name"] == "photo.jpg"
    assert data["download_name"] == "photo.heic"
    assert (data["kind"], data["kind_label"], data["mime_type"]) == (
        "heic",
        "HEIC/HEIF",
        "image/heic",
    )
    assert data["download_url"] == f"/api/v1/attachments/{attachment.pk}/file/"
    assert data["rendition"] == {
        "status": "ready",
        "error": "",
        "pages": [
            {
                "page": 1,
                "mime_type": "image/jpeg",
                "width": 64,
                "height": 48,
                "url": f"/api/v1/attachments/{attachment.pk}/pages/1/",
            }
        ],
        "text": [],
    }
    assert AttachmentSerializer(attachments_for(owner).get()).data["rendition"]["status"] == "ready"
    file = api.get(data["download_url"])
    assert (file.status_code, file["Content-Type"]) == (200, "image/heic")
    assert file["Content-Disposition"] == 'attachment; filename="photo.heic"'
    page = api.get(data["rendition"]["pages"][0]["url"])
    assert (page.status_code, page["Content-Type"]) == (200, "image/jpeg")
    # and to anyone outside the owner's scope it does not exist
    api.force_authenticate(make_user(Role.DEALER))
    for url in (f"/api/v1/attachments/{attachment.pk}/", data["download_url"]):
        response = api.get(url)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_the_viewer_include_shows_every_accepted_type(
    owner, settings, django_capture_on_commit_callbacks
):
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    uploads = {
        "a.png": png.getvalue(),
        "b.pdf": pdf(),
        "c.heic": heic(),
        "d.tif": tiff(THREE_PAGES),
        "e.ofd": real_ofd(settings),
    }
    made = {
        name: attach(owner, name, content, django_capture_on_commit_callbacks)
        for name, content in uploads.items()
    }
    html = render_to_string("includes/attachments.html", {"attachments": attachments_for(owner)})
    assert f'src="/attachments/{made["a.png"].pk}/?inline=1"' in html
    assert f'href="/attachments/{made["b.pdf"].pk}/?inline=1"' in html
    assert f'src="/attachments/{made["c.heic"].pk}/pages/1/"' in html
    for page in (1, 2, 3):
        assert f'src="/attachments/{made["d.tif"].pk}/pages/{page}/"' in html
    assert "兰溪市悦济舫餐厅" in html
    assert html.count('class="attachment"') == 5
    assert sorted(DOCUMENT_KINDS) == ["heic", "jpeg", "ofd", "pdf", "png", "tiff"]


def test_a_heic_over_the_pixel_limit_is_refused(settings):
    settings.ATTACHMENT_MAX_PIXELS = 3_000
    with pytest.raises(UploadRejected) as error:
        upload_check(upload=SimpleUploadedFile("IMG.heic", heic(size=(64, 48))))
    assert error.value.message == "The image is 64×48 pixels; at most 3,000 pixels are allowed."


def test_a_rendition_that_cannot_be_made_is_marked_failed(
    owner, settings, django_capture_on_commit_callbacks
):
    # given a TIFF whose stored file is gone by the time the task runs
    with django_capture_on_commit_callbacks() as callbacks:
        attachment = attachment_create(
            owner=owner, upload=SimpleUploadedFile("scan.tif", tiff(THREE_PAGES)), actor=None
        )
    assert attachment.rendition_status == Attachment.RenditionStatus.PENDING
    attachment.file.storage.delete(attachment.file.name)
    # when the task runs
    for callback in callbacks:
        callback()
    # then the rendition is marked failed with its reason, and the viewer says so
    attachment.refresh_from_db()
    assert (attachment.rendition_status, attachment.rendition_error) == ("failed", "missing")
    assert AttachmentRendition.objects.count() == 0
    html = render_to_string("includes/attachments.html", {"attachments": attachments_for(owner)})
    assert "No preview could be made of this file; download it to open it." in html


def test_ofd_pages_are_limited(settings):
    settings.ATTACHMENT_MAX_PDF_PAGES = 0
    with pytest.raises(UploadRejected) as error:
        upload_check(upload=SimpleUploadedFile("i.ofd", real_ofd(settings)))
    assert error.value.message == "The OFD has 1 pages; at most 0 are allowed."
