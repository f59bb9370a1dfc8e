"""Uploads checked by content, stored privately, downloaded only by those who see the owner."""

import hashlib
import uuid
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import File
from django.http import Http404
from django.utils.translation import gettext as _
from PIL import Image

from ssa_ops.errors import ApplicationError
from ssa_ops.models import Attachment

PDF, JPEG, PNG, XLSX = "pdf", "jpeg", "png", "xlsx"
DOCUMENT_KINDS = frozenset({PDF, JPEG, PNG})
EXCEL_KINDS = frozenset({XLSX})
MIME_TYPES = {
    PDF: "application/pdf",
    JPEG: "image/jpeg",
    PNG: "image/png",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
KIND_LABELS = {PDF: "PDF", JPEG: "JPEG", PNG: "PNG", XLSX: "Excel (.xlsx)"}
# A workbook that unpacks to more than this many times the upload limit is treated as a bomb.
XLSX_MAX_EXPANSION = 50

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


def _sniff_kind(head: bytes) -> str | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"PK\x03\x04"):
        return XLSX
    return None


def _check_image(upload) -> None:
    max_pixels = settings.ATTACHMENT_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise UploadRejected(
                        _("The image is %(w)s×%(h)s pixels; at most %(max)s pixels are allowed.")
                        % {"w": width, "h": height, "max": f"{max_pixels:,}"}
                    )
                image.verify()
    except UploadRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UploadRejected(_("The image is too large to open safely.")) from error
    except Exception as error:
        raise UploadRejected(_("The image file is damaged and cannot be read.")) from error


def _check_pdf(upload) -> None:
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


def _check_xlsx(upload) -> None:
    try:
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as error:
        raise UploadRejected(_("The Excel file is damaged and cannot be read.")) from error
    if "xl/workbook.xml" not in names:
        raise UploadRejected(_("The file is not an Excel workbook (.xlsx)."))
    if unpacked > settings.ATTACHMENT_MAX_BYTES * XLSX_MAX_EXPANSION:
        raise UploadRejected(_("The Excel file unpacks to too much data to read safely."))


_CHECKS = {PDF: _check_pdf, JPEG: _check_image, PNG: _check_image, XLSX: _check_xlsx}


def upload_check(*, upload, allowed_kinds=DOCUMENT_KINDS) -> CheckedUpload:
    """Validate an uploaded file by what it contains, not by its name. Raises UploadRejected."""
    max_bytes = settings.ATTACHMENT_MAX_BYTES
    if upload.size == 0:
        raise UploadRejected(_("The file is empty."))
    if upload.size > max_bytes:
        raise UploadRejected(
            _("The file is %(size)s MB; at most %(max)s MB is allowed.")
            % {"size": f"{upload.size / 1048576:.1f}", "max": f"{max_bytes / 1048576:.0f}"}
        )
    upload.seek(0)
    kind = _sniff_kind(upload.read(16))
    if kind not in allowed_kinds:
        allowed = ", ".join(KIND_LABELS[k] for k in sorted(allowed_kinds))
        raise UploadRejected(
            _("This type of file is not accepted. Allowed: %(allowed)s.") % {"allowed": allowed}
        )
    _CHECKS[kind](upload)
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(kind=kind, size=upload.size, sha256=digest.hexdigest())


def stored_name(kind: str) -> str:
    return f"{uuid.uuid4().hex}.{kind}"


def attachment_create(
    *, owner, upload, actor, purpose="", allowed_kinds=DOCUMENT_KINDS
) -> Attachment:
    checked = upload_check(upload=upload, allowed_kinds=allowed_kinds)
    attachment = Attachment(
        content_type=ContentType.objects.get_for_model(owner),
        object_id=str(owner.pk),
        purpose=purpose,
        original_name=(getattr(upload, "name", "") or "upload")[-255:],
        mime_type=MIME_TYPES[checked.kind],
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=actor,
    )
    attachment.file.save(stored_name(checked.kind), File(upload), save=False)
    attachment.save()
    return attachment


def attachments_for(owner):
    return Attachment.objects.filter(
        content_type=ContentType.objects.get_for_model(owner), object_id=str(owner.pk)
    ).select_related("uploaded_by")


def attachment_get_for_user(*, user, attachment_id) -> Attachment:
    """The attachment, if the user may see its owner; 404 otherwise (never 403)."""
    attachment = Attachment.objects.select_related("content_type").filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    model = attachment.content_type.model_class()
    visible_to = _OWNER_SCOPES.get(model)
    if visible_to is None or not visible_to(user=user).filter(pk=attachment.object_id).exists():
        raise Http404
    return attachment
