"""Uploads checked by content, stored privately, downloaded only by those who see the owner."""

import hashlib
import io
import time
import uuid
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath

import pillow_heif
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile, File
from django.http import FileResponse, Http404
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image

from ssa_ops import tabular
from ssa_ops.errors import ApplicationError
from ssa_ops.models import Attachment
from ssa_ops.ofd import MAX_PAGES as OFD_MAX_PAGES
from ssa_ops.ofd import OfdError, ofd_open
from ssa_ops.personal_data import (
    SOURCE_DOCUMENT,
    document_decrypt,
    document_encrypt,
    document_is_encrypted,
    personal_document_open,
    personal_document_purpose,
)
from ssa_ops.personal_values import personal_text_scrub

PDF, JPEG, PNG, HEIC, TIFF, OFD = "pdf", "jpeg", "png", "heic", "tiff", "ofd"
XLSX, XLS, CSV = tabular.XLSX, tabular.XLS, tabular.CSV
DOCUMENT_KINDS = frozenset({PDF, JPEG, PNG, HEIC, TIFF, OFD})
EXCEL_KINDS = frozenset({XLSX, XLS, CSV})
IMAGE_KINDS = frozenset({JPEG, PNG, HEIC, TIFF})
# Kinds a browser shows as they are; the others get a rendition after upload (renditions.py).
BROWSER_KINDS = frozenset({PDF, JPEG, PNG})
MIME_TYPES = {
    PDF: "application/pdf",
    JPEG: "image/jpeg",
    PNG: "image/png",
    HEIC: "image/heic",
    TIFF: "image/tiff",
    OFD: "application/ofd",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    XLS: "application/vnd.ms-excel",
    CSV: "text/csv",
}
KIND_BY_MIME = {mime: kind for kind, mime in MIME_TYPES.items()}
# The extension a stored file and a download take: that of what the file is, never the name's.
FILE_EXTENSIONS = {
    PDF: "pdf",
    JPEG: "jpg",
    PNG: "png",
    HEIC: "heic",
    TIFF: "tif",
    OFD: "ofd",
    XLSX: "xlsx",
    XLS: "xls",
    CSV: "csv",
}
KIND_LABELS = {
    PDF: "PDF",
    JPEG: "JPEG",
    PNG: "PNG",
    HEIC: "HEIC/HEIF",
    TIFF: "TIFF",
    OFD: "OFD",
    XLSX: "Excel (.xlsx)",
    XLS: "Excel 97-2003 (.xls)",
    CSV: "CSV (.csv)",
}
_ZIP = "zip"  # a zip archive that is neither an OFD nor a workbook: always refused
# ISO base media brands of HEIF images coded in HEVC (what iPhones write). AVIF is not read.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_CONTAINER_BRANDS = frozenset({b"mif1", b"msf1"})
_ISOBMFF_MAX_BOXES = 10_000

# model -> function(user) returning the queryset of owners that user may see.
_OWNER_SCOPES: dict[type, Callable] = {}


def attachment_owner_register(model, visible_to: Callable) -> None:
    """Declare how to tell whether a user may see an owner's attachments (its selector)."""
    _OWNER_SCOPES[model] = visible_to


class UploadRejected(ApplicationError):
    code = "invalid_file"


@dataclass(frozen=True)
class CheckedUpload:
    kind: str
    size: int
    sha256: str


def _heif_brands(head: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO base media file's leading ftyp box."""
    if head[4:8] != b"ftyp":
        return set()
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    brands = {head[8:12]}
    brands.update(head[offset : offset + 4] for offset in range(16, box_end - 3, 4))
    return brands


def _sniff_kind(head: bytes, upload=None) -> str | None:
    """What the file is by its first bytes (and, for a zip, by the parts it lists)."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    brands = _heif_brands(head)
    if brands & _HEIF_BRANDS or (brands & _HEIF_CONTAINER_BRANDS and b"avif" not in brands):
        return HEIC
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head.startswith(tabular.OLE2_MAGIC):
        return XLS
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(upload) if upload is not None else _ZIP
    return None


def _zip_kind(upload) -> str:
    """A zip is an OFD when OFD.xml is at its root, a workbook when it has xl/workbook.xml."""
    try:
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            names = {info.filename for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError):
        return _ZIP
    if "xl/workbook.xml" in names:
        return XLSX
    if "OFD.xml" in names or any(name.lower() == "ofd.xml" for name in names):
        return OFD
    return _ZIP


def _refuse_pixels(width, height, page=None):
    max_pixels = settings.ATTACHMENT_MAX_PIXELS
    if width * height <= max_pixels:
        return
    if page is None:
        message = _("The image is %(w)s×%(h)s pixels; at most %(max)s pixels are allowed.")
    else:
        message = _(
            "Page %(page)s is %(w)s×%(h)s pixels; at most %(max)s pixels are allowed a page."
        )
    raise UploadRejected(
        message % {"w": width, "h": height, "max": f"{max_pixels:,}", "page": page}
    )


def _refuse_pages(kind, pages):
    if pages > settings.ATTACHMENT_MAX_PDF_PAGES:
        raise UploadRejected(
            _("The %(kind)s has %(pages)s pages; at most %(max)s are allowed.")
            % {"kind": KIND_LABELS[kind], "pages": pages, "max": settings.ATTACHMENT_MAX_PDF_PAGES}
        )


def _check_image(upload, *, kind=None) -> None:
    formats = {JPEG: ["JPEG"], PNG: ["PNG"]}.get(kind)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload, formats=formats) as image:
                _refuse_pixels(*image.size)
                image.verify()
    except UploadRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UploadRejected(_("The image is too large to open safely.")) from error
    except Exception as error:
        raise UploadRejected(_("The image file is damaged and cannot be read.")) from error


def _check_tiff(upload, *, kind=TIFF) -> None:
    """Every page within the pixel limit, no more pages than allowed, and every page's image
    data inside the file (a truncated scan is refused now, not when it is first viewed)."""
    damaged = _("The TIFF file is damaged and cannot be read.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload, formats=["TIFF"]) as image:
                page = 0
                while True:
                    page += 1
                    _refuse_pages(TIFF, page)
                    _refuse_pixels(*image.size, page=page)
                    tags = image.tag_v2
                    offsets = tags.get(273) or tags.get(324) or ()
                    counts = tags.get(279) or tags.get(325) or ()
                    if not offsets or len(offsets) != len(counts):
                        raise UploadRejected(damaged)
                    if any(o + c > upload.size for o, c in zip(offsets, counts, strict=True)):
                        raise UploadRejected(damaged)
                    try:
                        image.seek(page)
                    except EOFError:
                        break
    except UploadRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UploadRejected(_("The image is too large to open safely.")) from error
    except Exception as error:
        raise UploadRejected(damaged) from error


def _isobmff_complete(upload) -> bool:
    """Whether the file's top-level boxes (ftyp, meta, mdat...) all end inside it: a HEIC cut
    short in transfer declares more image data than it holds."""
    offset, size, types = 0, upload.size, set()
    for _box in range(_ISOBMFF_MAX_BOXES):
        if offset >= size:
            return b"ftyp" in types and b"meta" in types
        upload.seek(offset)
        header = upload.read(16)
        if len(header) < 8:
            return False
        box_size = int.from_bytes(header[:4], "big")
        if box_size == 1 and len(header) == 16:
            box_size = int.from_bytes(header[8:16], "big")
        elif box_size == 0:
            box_size = size - offset
        if box_size < 8 or offset + box_size > size:
            return False
        types.add(header[4:8])
        offset += box_size
    return False


def _check_heic(upload, *, kind=HEIC) -> None:
    """The container's structure and every image's size, without decoding any pixels (that
    happens in the rendition task)."""
    damaged = _("The HEIC/HEIF image is damaged or incomplete and cannot be read.")
    if not _isobmff_complete(upload):
        raise UploadRejected(damaged)
    try:
        upload.seek(0)
        heif = pillow_heif.open_heif(upload, convert_hdr_to_8bit=True)
        sizes = [image.size for image in heif]
    except Exception as error:
        raise UploadRejected(damaged) from error
    if not sizes:
        raise UploadRejected(damaged)
    _refuse_pages(HEIC, len(sizes))
    for page, (width, height) in enumerate(sizes, start=1):
        _refuse_pixels(width, height, page=page if len(sizes) > 1 else None)


# Why an OFD was refused, by ofd.OfdError code.
_OFD_REFUSALS = {
    "unsafe_path": gettext_lazy(
        "The OFD file holds a part whose name points outside it; it is refused."
    ),
    "too_many_entries": gettext_lazy("The OFD file has too many parts to read safely."),
    "too_large": gettext_lazy("The OFD file unpacks to too much data to read safely."),
    "compression_ratio": gettext_lazy("The OFD file unpacks to too much data to read safely."),
    "encrypted": gettext_lazy("The OFD file is encrypted; upload an unprotected copy."),
}


def _check_ofd(upload, *, kind=OFD) -> None:
    upload.seek(0)
    try:
        document = ofd_open(upload.read())
    except OfdError as error:
        if error.code == "too_many_pages":  # the reader stops counting at its own limit
            message = _("The OFD has more than %(max)s pages; at most %(max)s are allowed.") % {
                "max": min(OFD_MAX_PAGES, settings.ATTACHMENT_MAX_PDF_PAGES)
            }
        else:
            message = _OFD_REFUSALS.get(
                error.code, gettext_lazy("The file is a zip archive but not a valid OFD document.")
            )
        raise UploadRejected(str(message), extra={"reason": error.code}) from error
    _refuse_pages(OFD, len(document.pages))


def _check_pdf(upload, *, kind=PDF) -> None:
    from pypdf import PdfReader

    try:
        upload.seek(0)
        reader = PdfReader(upload)
        if reader.is_encrypted:
            raise UploadRejected(_("The PDF is password-protected; upload an unprotected copy."))
        pages = len(reader.pages)
    except UploadRejected:
        raise
    except Exception as error:
        raise UploadRejected(_("The PDF file is damaged and cannot be read.")) from error
    if pages > settings.ATTACHMENT_MAX_PDF_PAGES:
        raise UploadRejected(
            _("The PDF has %(pages)s pages; at most %(max)s are allowed.")
            % {"pages": pages, "max": settings.ATTACHMENT_MAX_PDF_PAGES}
        )


def _check_spreadsheet(upload, *, kind) -> None:
    """The import limits (unpacked size, compression ratio, rows; a .csv's encoding), checked
    without reading rows; the rows are read later, in the import job."""
    try:
        tabular.tabular_check(upload, getattr(upload, "name", "") or "")
    except tabular.TabularError as error:
        raise UploadRejected(error.message, extra={"reason": error.code, **error.extra}) from error


_CHECKS = {
    PDF: _check_pdf,
    JPEG: _check_image,
    PNG: _check_image,
    HEIC: _check_heic,
    TIFF: _check_tiff,
    OFD: _check_ofd,
    XLSX: _check_spreadsheet,
    XLS: _check_spreadsheet,
    CSV: _check_spreadsheet,
}


def upload_check(*, upload, allowed_kinds=DOCUMENT_KINDS) -> CheckedUpload:
    """Validate an uploaded file by what it contains, not by its name. Raises UploadRejected.

    A .csv has no signature: it is taken by its name, where imports allow it, and must then
    decode (tabular.tabular_check)."""
    max_bytes = settings.ATTACHMENT_MAX_BYTES
    if upload.size == 0:
        raise UploadRejected(_("The file is empty."))
    if upload.size > max_bytes:
        raise UploadRejected(
            _("The file is %(size)s; at most %(max)s is allowed.")
            % {"size": filesizeformat(upload.size), "max": filesizeformat(max_bytes)}
        )
    upload.seek(0)
    kind = _sniff_kind(upload.read(64), upload)
    name = getattr(upload, "name", "") or ""
    if kind is None and CSV in allowed_kinds and tabular.tabular_kind(b"", name) == CSV:
        kind = CSV
    if kind == _ZIP:
        if OFD in allowed_kinds:
            raise UploadRejected(_("The file is a zip archive but not a valid OFD document."))
        if XLSX in allowed_kinds:
            raise UploadRejected(_("The file is not an Excel workbook (.xlsx)."))
    if kind not in allowed_kinds:
        allowed = ", ".join(KIND_LABELS[k] for k in sorted(allowed_kinds))
        raise UploadRejected(
            _("This type of file is not accepted. Allowed: %(allowed)s.") % {"allowed": allowed}
        )
    _CHECKS[kind](upload, kind=kind)
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(kind=kind, size=upload.size, sha256=digest.hexdigest())


def stored_name(kind: str) -> str:
    return f"{uuid.uuid4().hex}.{FILE_EXTENSIONS[kind]}"


def attachment_kind(attachment: Attachment) -> str:
    """What the stored file is (PDF, HEIC...), as detected when it was uploaded."""
    return KIND_BY_MIME.get(attachment.mime_type, "")


def attachment_download_name(attachment: Attachment) -> str:
    """The uploader's file name with the extension of what the file is: a PDF sent as
    licence.html downloads as licence.pdf, never as a page a browser would run."""
    stem = PurePath(attachment.original_name.replace("\\", "/")).stem.strip(". ") or "document"
    kind = attachment_kind(attachment)
    return f"{stem}.{FILE_EXTENSIONS[kind]}" if kind else f"{stem}.bin"


def _private_file_response(file, *, filename, content_type, inline):
    # The type is the one detected at upload and browsers may not guess another (nosniff);
    # nothing served from here may run script or load anything.
    response = FileResponse(
        file, as_attachment=not inline, filename=filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    )
    return response


def _stored_file(attachment: Attachment, file, *, source=SOURCE_DOCUMENT):
    """The stored file as its viewer gets it: a personal document decrypted for a viewer who
    may open it, the look recorded (personal_data.personal_document_open)."""
    handle = file.open("rb")
    encrypted = document_is_encrypted(handle.read(16))
    handle.seek(0)
    if not encrypted and not personal_document_purpose(attachment.purpose):
        return handle
    with handle:
        data = handle.read()
    return io.BytesIO(personal_document_open(attachment, data, source=source))


def attachment_read(attachment: Attachment) -> bytes:
    """The clear bytes of an attachment, for code that reads documents (readers, renditions)."""
    with attachment.file.open("rb") as handle:
        return document_decrypt(handle.read())


def attachment_file_response(attachment: Attachment, *, inline=False) -> FileResponse:
    """The original file, named and typed by what it is. Only kinds a browser shows as they
    are (PDF, JPEG, PNG) may open in the browser; every other kind is a download."""
    return _private_file_response(
        _stored_file(attachment, attachment.file),
        filename=attachment_download_name(attachment),
        content_type=attachment.mime_type,
        inline=inline and attachment_kind(attachment) in BROWSER_KINDS,
    )


def attachment_rendition_response(attachment: Attachment, *, page: int) -> FileResponse:
    """One page of the attachment's browser-viewable copy, shown inline; 404 if there is none."""
    rendition = attachment.renditions.filter(page=page).first()
    if rendition is None:
        raise Http404
    stem = attachment_download_name(attachment).rsplit(".", 1)[0]
    extension = "png" if rendition.mime_type == "image/png" else "jpg"
    return _private_file_response(
        _stored_file(attachment, rendition.file),
        filename=f"{stem}-{page}.{extension}",
        content_type=rendition.mime_type,
        inline=True,
    )


def _original_name(upload, purpose) -> str:
    """The uploader's file name; for a personal document without the ID or phone numbers that
    people put in names (`110105********123X-身份证.jpg`)."""
    name = (getattr(upload, "name", "") or "upload")[-255:]
    return personal_text_scrub(name) if personal_document_purpose(purpose) else name


def attachments_create(
    *, owner, uploads, actor, purpose="", allowed_kinds=DOCUMENT_KINDS
) -> list[Attachment]:
    """Attach several files to one record: every file is checked before any is written, so a
    refused file leaves nothing behind; a failed write removes the files already written."""
    from ssa_ops.renditions import rendition_schedule  # renditions imports this module

    checked = [
        (upload, upload_check(upload=upload, allowed_kinds=allowed_kinds)) for upload in uploads
    ]
    content_type = ContentType.objects.get_for_model(owner)
    created: list[Attachment] = []
    try:
        for upload, result in checked:
            attachment = Attachment(
                content_type=content_type,
                object_id=str(owner.pk),
                purpose=purpose,
                original_name=_original_name(upload, purpose),
                mime_type=MIME_TYPES[result.kind],
                size=result.size,
                sha256=result.sha256,
                uploaded_by=actor,
            )
            content = File(upload)
            if personal_document_purpose(purpose):  # ID card scans and the like: encrypted
                upload.seek(0)
                content = ContentFile(document_encrypt(upload.read()))
            attachment.file.save(stored_name(result.kind), content, save=False)
            created.append(attachment)
            attachment.save()
            # HEIC, TIFF and OFD get a browser-viewable copy, made by a task after commit.
            rendition_schedule(attachment=attachment)
    except BaseException:
        for attachment in created:
            attachment.file.delete(save=False)
        raise
    # Should the surrounding transaction roll back later, the beat sweep removes the files
    # no attachment refers to (attachments_sweep_orphans).
    return created


def attachment_create(*, owner, upload, actor, purpose="", allowed_kinds=DOCUMENT_KINDS):
    return attachments_create(
        owner=owner, uploads=[upload], actor=actor, purpose=purpose, allowed_kinds=allowed_kinds
    )[0]


def attachments_sweep_orphans(*, older_than_seconds=3600) -> int:
    """Delete stored attachment files that no attachment refers to (left by a rolled-back
    request), once they are older than any request could still be running. Returns how many."""
    storage = Attachment._meta.get_field("file").storage
    root = Path(storage.location) / "attachments"
    if not root.exists():
        return 0
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in root.rglob("*"):
        if not path.is_file() or path.stat().st_mtime > cutoff:
            continue
        name = path.relative_to(storage.location).as_posix()
        if not Attachment.objects.filter(file=name).exists():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def attachments_for(owner):
    return (
        Attachment.objects.filter(
            content_type=ContentType.objects.get_for_model(owner), object_id=str(owner.pk)
        )
        .select_related("uploaded_by")
        .prefetch_related("renditions")
    )


def attachments_with_same_content(attachment: Attachment):
    """Other attachments holding the very same file (by SHA-256), e.g. one invoice sent on
    two claims. Callers scope what they show of the owners."""
    return (
        Attachment.objects.filter(sha256=attachment.sha256)
        .exclude(pk=attachment.pk)
        .select_related("content_type")
    )


def attachment_get_for_user(*, user, attachment_id) -> Attachment:
    """The attachment, if the user may see its owner; 404 otherwise (never 403)."""
    attachment = Attachment.objects.select_related("content_type").filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    model = attachment.content_type.model_class()
    visible_to = _OWNER_SCOPES.get(model)
    if visible_to is None or not visible_to(user=user).filter(pk=attachment.object_id).exists():
        raise Http404
    attachment.personal_data_viewer = user  # who a personal document is opened for
    return attachment
