"""Keeping personal information no longer than needed, a person's rights, and key rotation.

- `personal_data_retention_run`: the beat task's service. Records closed longer ago than their
  kind's period lose their personal fields, the plain fields their kind names and their
  personal documents; what accounting needs stays. Each erasure is an audit event; a record
  with nothing left to erase is not touched again (idempotent).
- `personal_subject_export` / `personal_subject_erase`: everything held about one person,
  found by ID number through the keyed hash across every registered kind of record; erasure
  skips records under a duty to keep them (open, or the kind's `keep_while`). Both audited.
- `personal_data_rekey`: every value and document under the first key, hashes recomputed.
"""

import logging
import os
import tempfile
from datetime import timedelta
from pathlib import Path

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ssa_ops.audit import audit_labels_register, audit_record
from ssa_ops.models import Attachment, AttachmentRendition, OutboundEmail, PersonalDataAccess
from ssa_ops.personal_data import (
    PERSONAL_DOCUMENT_PURPOSES,
    SOURCE_EXPORT,
    PersonalDataField,
    PersonalHashField,
    PersonalRecords,
    PersonalValue,
    personal_data_access_record,
    personal_data_models,
    personal_hash_field,
    personal_records_all,
)
from ssa_ops.personal_data_crypto import (
    document_decrypt,
    document_encrypt,
    document_is_encrypted,
    document_key_id,
    is_token,
    key_ring,
    personal_hash,
    token_key_id,
    value_decrypt,
    value_encrypt,
)
from ssa_ops.texts import text_store

logger = logging.getLogger(__name__)

ERASED, EXPORTED = "personal_data_erased", "personal_data_exported"
audit_labels_register(
    {ERASED: _("erased personal information"), EXPORTED: _("exported personal information")}
)
RETENTION_REASON = _("Kept %(days)s days after closing; the retention period has ended.")
REQUEST_REASON = _("Erased at the person's request.")


def _non_empty(model, name) -> Q:
    present = Q(**{f"{name}__isnull": False})
    if isinstance(model._meta.get_field(name), models.CharField | models.TextField):
        present &= ~Q(**{name: ""})
    return present


def _documents(records: PersonalRecords, instance=None):
    documents = Attachment.objects.filter(
        content_type=ContentType.objects.get_for_model(records.model, for_concrete_model=False),
        purpose__in=records.purposes,
    )
    if instance is not None:
        documents = documents.filter(object_id=str(instance.pk))
    return documents


def _erasable_fields(records: PersonalRecords) -> list[str]:
    return [field.name for field in records.fields] + list(records.erase_fields)


def _holding_personal_data(records: PersonalRecords, queryset):
    """The records of `queryset` that still hold something to erase."""
    condition = Q(pk__in=[])
    for name in _erasable_fields(records):
        condition |= _non_empty(records.model, name)
    if records.purposes:
        documents = _documents(records).filter(
            object_id=Cast(OuterRef("pk"), output_field=models.CharField())
        )
        condition |= Q(Exists(documents))
    return queryset.filter(condition)


def _documents_delete(documents) -> int:
    """Delete the documents and, once the transaction has committed, their files."""
    documents = list(documents)
    names = [document.file.name for document in documents]
    renditions = AttachmentRendition.objects.filter(attachment__in=documents)
    names += [rendition.file.name for rendition in renditions]
    storage = Attachment._meta.get_field("file").storage
    Attachment.objects.filter(pk__in=[document.pk for document in documents]).delete()

    def remove_files():
        for name in names:
            storage.delete(name)

    transaction.on_commit(remove_files)
    return len(documents)


def personal_record_erase(*, records: PersonalRecords, pk, actor=None, reason_text) -> dict:
    """Erase one record's personal fields, named plain fields and personal documents; audit
    what was erased (field names and a count, never values). Returns {fields, documents}."""
    with transaction.atomic():
        instance = (
            records.model._default_manager.select_for_update(of=("self",)).filter(pk=pk).first()
        )
        if instance is None:
            return {"fields": [], "documents": 0}
        erased, update_fields = [], []
        for name in _erasable_fields(records):
            field = records.model._meta.get_field(name)
            if getattr(instance, field.attname) in (None, ""):
                continue
            empty = "" if isinstance(field, models.CharField | models.TextField) else None
            setattr(instance, field.attname, empty)
            erased.append(name)
            update_fields.append(name)
            hashed = personal_hash_field(records.model, name)
            if hashed is not None:
                update_fields.append(hashed.name)
        if update_fields:
            instance.save(update_fields=update_fields)
        documents = _documents_delete(_documents(records, instance))
        emails = _emails_redact(instance) if erased else 0
        if erased or documents:
            audit_record(
                actor=actor,
                obj=instance,
                action=ERASED,
                reason_text=reason_text,
                changes={"erased": erased, "documents": documents, "emails": emails},
            )
    return {"fields": erased, "documents": documents}


def _emails_redact(instance) -> int:
    """The outbox keeps what was sent about a record; its bodies (names, links) go with the
    person's data. The subject, recipients and status stay as the record of the send."""
    return OutboundEmail.objects.filter(
        content_type=ContentType.objects.get_for_model(instance),
        object_id=str(instance.pk),
    ).update(body_text="", body_html="")


def personal_data_retention_run(*, now=None, batch_size=200) -> dict:
    """Erase what is past its retention period, at most `batch_size` records of each kind.
    Returns {"erased": {kind: records}, "documents": n, "more": bool}."""
    now = now or timezone.now()
    report = {"erased": {}, "documents": 0, "more": False}
    for records in personal_records_all():
        days = records.retention_period_days()
        cutoff = now - timedelta(days=days)
        due = _holding_personal_data(records, records.closed_before(cutoff)).order_by("pk")
        reason = text_store(RETENTION_REASON, days=days)
        count = 0
        for pk in due.values_list("pk", flat=True).iterator():
            if count >= batch_size:
                report["more"] = True
                break
            if records.keep_while is not None:
                instance = records.model._default_manager.get(pk=pk)
                if records.keep_while(instance):
                    continue
            result = personal_record_erase(records=records, pk=pk, reason_text=reason)
            count += bool(result["fields"] or result["documents"])
            report["documents"] += result["documents"]
        if count:
            report["erased"][records.kind] = count
    if report["erased"]:
        logger.info("Personal information erased after retention: %s", report)
    return report


# A person's rights ---------------------------------------------------------------------------


def personal_subject_find(*, id_number) -> list[tuple[PersonalRecords, object]]:
    """Every registered record holding this ID number, found through the keyed hash."""
    found = []
    for records in personal_records_all():
        condition = Q(pk__in=[])
        for field in records.fields:
            hashed = personal_hash_field(records.model, field.name)
            if field.kind == "id_number" and hashed is not None:
                condition |= Q(**{hashed.name: personal_hash("id_number", id_number)})
        for instance in records.model._default_manager.filter(condition).order_by("pk"):
            found.append((records, instance))
    return found


def _exported_value(value):
    if isinstance(value, PersonalValue):
        return value.reveal()
    return value


def personal_subject_export(*, id_number, actor=None, documents_dir=None) -> dict:
    """Everything held about the person: each record's fields (personal ones in full), its
    documents (written decrypted into `documents_dir`, when given) and who looked at them.
    Each record's export is audited and, being a look, in the access log."""
    exported = []
    for records, instance in personal_subject_find(id_number=id_number):
        documents = list(_documents(records, instance))
        fields = {
            field.name: _exported_value(field.value_from_object(instance))
            for field in records.model._meta.concrete_fields
            if not isinstance(field, PersonalHashField)
        }
        content_type = ContentType.objects.get_for_model(instance, for_concrete_model=False)
        looks = PersonalDataAccess.objects.filter(
            content_type=content_type, object_id=str(instance.pk)
        ).order_by("created_at", "pk")
        exported.append(
            {
                "kind": records.kind,
                "record": f"{records.model._meta.label_lower}#{instance.pk}",
                "fields": fields,
                "documents": [
                    {
                        "id": str(document.pk),
                        "purpose": document.purpose,
                        "file_name": document.original_name,
                        "type": document.mime_type,
                        "size": document.size,
                        "uploaded_at": document.created_at,
                        "written_as": _document_write(document, documents_dir),
                    }
                    for document in documents
                ],
                "looked_at_by": [
                    {"at": look.created_at, "user": look.user_name, "field": look.field}
                    for look in looks
                ],
            }
        )
        with transaction.atomic():
            for field in records.fields:
                personal_data_access_record(
                    user=actor, obj=instance, field=field.name, source=SOURCE_EXPORT
                )
            for document in documents if documents_dir else ():
                personal_data_access_record(
                    user=actor,
                    obj=instance,
                    field=f"document:{document.purpose}",
                    source=SOURCE_EXPORT,
                    attachment=document,
                )
            audit_record(actor=actor, obj=instance, action=EXPORTED)
    return {"exported_at": timezone.now(), "records": exported}


def _document_write(document, directory) -> str:
    """Write the document's clear bytes as `<id>-<download name>` in `directory`; its name."""
    if not directory:
        return ""
    from ssa_ops.attachments import attachment_download_name, attachment_read

    name = f"{document.pk}-{attachment_download_name(document)}"
    (Path(directory) / name).write_bytes(attachment_read(document))
    return name


def personal_subject_export_json(export: dict) -> str:
    import json

    return json.dumps(export, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)


def personal_subject_erase(*, id_number, actor=None, dry_run=False) -> dict:
    """Erase the person's information from every record no duty keeps. Returns
    {"erased": [record labels], "kept": [{"record", "duty"}]}."""
    report = {"erased": [], "kept": []}
    reason = text_store(REQUEST_REASON)
    for records, instance in personal_subject_find(id_number=id_number):
        label = f"{records.model._meta.label_lower}#{instance.pk}"
        duty = records.duty(instance)
        if duty:
            report["kept"].append({"record": label, "duty": duty})
            continue
        if not dry_run:
            personal_record_erase(records=records, pk=instance.pk, actor=actor, reason_text=reason)
        report["erased"].append(label)
    return report


# Key rotation ----------------------------------------------------------------------------------


def _rekey_model(model, ring, batch_size) -> int:
    fields = [f for f in model._meta.concrete_fields if isinstance(f, PersonalDataField)]
    hashes = {f.name: personal_hash_field(model, f.name) for f in fields}
    raw = {f"raw_{f.name}": Cast(f.name, output_field=models.TextField()) for f in fields}
    changed, last_pk = 0, None
    while True:
        rows = model._default_manager.order_by("pk").annotate(**raw)
        if last_pk is not None:
            rows = rows.filter(pk__gt=last_pk)
        batch = list(rows.values("pk", *raw, *[h.name for h in hashes.values() if h])[:batch_size])
        if not batch:
            return changed
        for row in batch:
            last_pk = row["pk"]
            updates = {}
            for field in fields:
                stored = row[f"raw_{field.name}"]
                if not stored:
                    continue
                clear = value_decrypt(field.kind, stored)
                if not is_token(stored) or token_key_id(stored) != ring.current_id:
                    updates[field.name] = value_encrypt(field.kind, clear)
                hashed = hashes[field.name]
                if hashed is not None and row[hashed.name] != personal_hash(field.kind, clear):
                    updates[hashed.name] = personal_hash(field.kind, clear)
            if updates:
                # only if the row still holds what was read: an erase or an edit meanwhile wins
                unchanged = {f"raw_{field.name}": row[f"raw_{field.name}"] for field in fields}
                changed += (
                    model._default_manager.annotate(**raw)
                    .filter(pk=row["pk"], **unchanged)
                    .update(**updates)
                )


def _rekey_file(storage, name, ring, *, personal) -> bool:
    with storage.open(name, "rb") as handle:
        if not personal and not document_is_encrypted(handle.read(16)):
            return False
        handle.seek(0)
        data = handle.read()
    if document_is_encrypted(data):
        if document_key_id(data) == ring.current_id:
            return False
    elif not personal:
        return False
    sealed = document_encrypt(document_decrypt(data))
    # Written beside the document and moved over it in one step: a crash or a full disk midway
    # leaves the old, still readable copy in place, never no document at all.
    path = Path(storage.path(name))
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as replacement:
        replacement.write(sealed)
        replacement.flush()
        os.fsync(replacement.fileno())
    os.replace(replacement.name, path)
    return True


def personal_data_rekey(*, batch_size=500) -> dict:
    """Re-encrypt every personal value and document under the first key (and encrypt values
    and personal documents stored before they were protected); recompute the hashes."""
    ring = key_ring()
    report = {"records": 0, "documents": 0}
    for model in personal_data_models():
        report["records"] += _rekey_model(model, ring, batch_size)
    storage = Attachment._meta.get_field("file").storage
    for attachment in Attachment.objects.order_by("pk").iterator():
        personal = attachment.purpose in PERSONAL_DOCUMENT_PURPOSES
        names = [attachment.file.name]
        names += [r.file.name for r in AttachmentRendition.objects.filter(attachment=attachment)]
        touched = False
        for name in names:
            if storage.exists(name):
                touched |= _rekey_file(storage, name, ring, personal=personal)
        report["documents"] += touched
    return report
