"""Several files on one request: all checked before any is written; same content is found."""

import io
import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from dealers import services
from dealers.models import DealerChangeRequest
from ssa_ops.attachments import (
    UploadRejected,
    attachment_create,
    attachments_sweep_orphans,
    attachments_with_same_content,
)
from ssa_ops.models import Attachment
from ssa_ops.roles import Role
from tests.dealers.factories import DealerFactory

pytestmark = pytest.mark.django_db


def png(colour=(200, 30, 30)):
    output = io.BytesIO()
    Image.new("RGB", (20, 20), colour).save(output, "PNG")
    return output.getvalue()


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_request_whose_second_file_is_refused_leaves_no_file_behind(settings, make_user):
    # given a dealer filing a change with a good scan and a file that is not a document
    filer = make_user(Role.DEALER)
    documents = [
        SimpleUploadedFile("licence.png", png()),
        SimpleUploadedFile("notes.txt", b"just text, not a document"),
    ]
    # when the request is filed
    with pytest.raises(UploadRejected):
        services.change_request_create(
            actor=filer,
            dealer=filer.dealer,
            values={"address": "广州市天河区1号"},
            documents=documents,
        )
    # then nothing was saved and no file was written
    assert DealerChangeRequest.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert stored_files(settings) == []


def test_the_same_file_on_two_records_is_found_by_its_content(make_user):
    first, second = DealerFactory(), DealerFactory()
    scan = png((1, 2, 3))
    original = attachment_create(owner=first, upload=SimpleUploadedFile("a.png", scan), actor=None)
    copy = attachment_create(
        owner=second, upload=SimpleUploadedFile("renamed.png", scan), actor=None
    )
    attachment_create(owner=second, upload=SimpleUploadedFile("b.png", png((9, 9, 9))), actor=None)
    assert list(attachments_with_same_content(original)) == [copy]
    assert list(attachments_with_same_content(copy)) == [original]


def test_the_sweep_removes_files_no_attachment_refers_to_once_they_are_old(settings):
    kept = attachment_create(
        owner=DealerFactory(), upload=SimpleUploadedFile("kept.png", png()), actor=None
    )
    folder = settings.MEDIA_ROOT / "private" / "attachments" / "2026" / "11"
    folder.mkdir(parents=True, exist_ok=True)
    old_orphan, new_orphan = folder / "old.png", folder / "new.png"
    old_orphan.write_bytes(b"left by a rolled-back request")
    new_orphan.write_bytes(b"a request may still be running")
    an_hour_ago = time.time() - 3700
    os.utime(old_orphan, (an_hour_ago, an_hour_ago))
    os.utime(kept.file.path, (an_hour_ago, an_hour_ago))
    assert attachments_sweep_orphans() == 1
    assert not old_orphan.exists() and new_orphan.exists()
    assert os.path.exists(kept.file.path)
