"""Personal information: encrypted at rest, masked by default, every look recorded.

An app declares a sensitive value once, on its model, with a companion hash for lookups:

    id_number = PersonalDataField(_("ID number"), kind="id_number")
    id_number_hash = PersonalHashField(source="id_number")

- In the database the value is AES-256-GCM ciphertext with the id of the key that made it
  (`pd1:<key id>:<base64>`), also in `dumpdata`; the hash is a keyed HMAC-SHA256 of the
  normalised value, so `Claim.objects.filter(id_number_hash=personal_hash("id_number", x))`
  finds the same ID number on two records without decrypting anything.
- In Python the attribute is a `PersonalValue`: `str()`, templates, f-strings, serializers,
  exports, emails and log lines all get the masked form (`110105********123X`). The clear value
  is `value.reveal()`, for code that must check it (validation, duplicate rules); a person sees
  it only through `personal_data_show`, which checks `ssa_ops.view_personal_data` and records
  the look in `PersonalDataAccess`.
- Documents whose purpose is registered with `personal_document_purposes_register` are stored
  encrypted (attachments.py) and each download is checked and recorded.
- Kinds of value and masking live in personal_values.py, the ciphers and the hash in
  personal_data_crypto.py, the keys in personal_data_keys.py; the names apps need are here.
- `personal_records_register(PersonalRecords(...))` declares a kind of record: who sees it,
  when it is closed, how long it is kept, what else is erased; retention, subject access and
  the show endpoints (personal_data_api.py, personal_data_views.py) follow from it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import checks
from django.core.exceptions import (
    FieldError,
    ImproperlyConfigured,
    PermissionDenied,
)
from django.db import models
from django.db.models.lookups import Exact, IsNull
from django.db.models.query_utils import DeferredAttribute
from django.http import Http404
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from ssa_ops.errors import PermissionRefused
from ssa_ops.personal_data_crypto import (  # noqa: F401 (the kit's names, in one place)
    document_decrypt,
    document_encrypt,
    document_is_encrypted,
    is_token,
    personal_hash,
    value_decrypt,
    value_encrypt,
)
from ssa_ops.personal_values import (  # noqa: F401 (the kit's names, in one place)
    PersonalKind,
    PersonalValue,
    mask,
    personal_kind,
    personal_kind_register,
    resident_id_valid,
    validate_resident_id,
)

VIEW_PERMISSION = "ssa_ops.view_personal_data"

# Model fields ------------------------------------------------------------------------------


class _PersonalDataAttribute(DeferredAttribute):
    """Whatever is assigned is kept as a PersonalValue (normalised), never as a bare str. The
    masked form coming back unchanged (a form or an API client echoing what it was shown)
    leaves the value as it is."""

    def __set__(self, instance, value):
        current = instance.__dict__.get(self.field.attname)
        echoed = isinstance(value, str) and "*" in value
        if echoed and isinstance(current, PersonalValue) and value == current.masked:
            return
        instance.__dict__[self.field.attname] = self.field.wrap(value)


class _EmptyOnlyExact(Exact):
    """`field=""` finds empty values; any other value would never match its ciphertext."""

    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            raise FieldError(
                f"{self.lhs.target.name} is encrypted: look values up by its hash field "
                "(personal_hash) instead."
            )
        return super().get_prep_lookup()


class PersonalDataField(models.TextField):
    """A sensitive value (ID number, employee number, bank account, private phone): encrypted
    in the database, masked wherever it is shown."""

    descriptor_class = _PersonalDataAttribute

    def __init__(self, *args, kind: str = "text", **kwargs):
        self.kind = kind
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["kind"] = self.kind
        if kwargs.get("blank") is True:
            del kwargs["blank"]
        if kwargs.get("default") == "":
            del kwargs["default"]
        return name, path, args, kwargs

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if self.unique:
            errors.append(
                checks.Error(
                    "An encrypted value is never equal to another: make its PersonalHashField "
                    "unique instead.",
                    obj=self,
                    id="ssa_ops.E104",
                )
            )
        return errors

    def wrap(self, value):
        if value is None or value == "" or isinstance(value, PersonalValue):
            return value
        text = str(value)
        if is_token(text):
            text = value_decrypt(self.kind, text)
        normalised = personal_kind(self.kind).normalise(text)
        return PersonalValue(self.kind, normalised) if normalised else ""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return PersonalValue(self.kind, value_decrypt(self.kind, value))

    def to_python(self, value):
        return self.wrap(value)

    def get_prep_value(self, value):
        if value is None or value == "":
            return value
        if isinstance(value, PersonalValue):
            return value_encrypt(self.kind, value.reveal())
        if is_token(value):  # already ciphertext (the rotate command writes these)
            return value
        return value_encrypt(self.kind, personal_kind(self.kind).normalise(str(value)))

    def value_to_string(self, obj):
        """What `dumpdata` writes: the ciphertext."""
        return self.get_prep_value(self.value_from_object(obj)) or ""

    def formfield(self, **kwargs):
        # One line, shown masked; sent back unchanged it keeps the value (see the descriptor).
        return models.Field.formfield(self, **kwargs)

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return IsNull
        if lookup_name == "exact":
            return _EmptyOnlyExact
        raise FieldError(
            f"{self.name} is encrypted: only `isnull` and `=''` work; use its hash field."
        )

    @cached_property
    def validators(self):
        """The kind's checks (a resident ID's check character) with the field's own: model
        validation and model serializers both run them."""
        return [*super().validators, *personal_kind(self.kind).validators]

    def run_validators(self, value):
        super().run_validators(value.reveal() if isinstance(value, PersonalValue) else value)


class PersonalHashField(models.CharField):
    """The keyed hash of a PersonalDataField's value, set on every save (include it in
    `update_fields` with its source)."""

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.update(max_length=64, blank=True, default="", editable=False, db_index=True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key in ("max_length", "blank", "default", "editable", "db_index"):
            kwargs.pop(key, None)
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        source = next((f for f in self.model._meta.fields if f.name == self.source), None)
        if not isinstance(source, PersonalDataField):
            errors.append(
                checks.Error(
                    f"PersonalHashField source {self.source!r} is not a PersonalDataField.",
                    obj=self,
                    id="ssa_ops.E103",
                )
            )
        return errors

    def pre_save(self, model_instance, add):
        source = model_instance._meta.get_field(self.source)
        value = personal_hash(source.kind, getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


def personal_fields(model) -> list[PersonalDataField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, PersonalDataField)]


def personal_hash_field(model, field_name: str) -> PersonalHashField | None:
    return next(
        (
            f
            for f in model._meta.concrete_fields
            if isinstance(f, PersonalHashField) and f.source == field_name
        ),
        None,
    )


def personal_lookup(model, field_name: str, value) -> models.Q:
    """A filter finding `value` in `field_name` through its hash field."""
    hashed = personal_hash_field(model, field_name)
    if hashed is None:
        raise ImproperlyConfigured(f"{model.__name__}.{field_name} has no PersonalHashField")
    kind = model._meta.get_field(field_name).kind
    return models.Q(**{hashed.name: personal_hash(kind, value)})


def personal_data_models() -> list:
    """Every installed model with a personal field."""
    return [model for model in apps.get_models() if personal_fields(model)]


# Registries: documents and kinds of record -----------------------------------------------------

PERSONAL_DOCUMENT_PURPOSES: dict[str, object] = {}


def personal_document_purposes_register(purposes: dict) -> None:
    """Attachment purposes whose documents carry personal data (e.g. {"id_card": _("ID card")}):
    stored encrypted, opened only with `ssa_ops.view_personal_data`, every look recorded."""
    PERSONAL_DOCUMENT_PURPOSES.update(purposes)


def personal_document_purpose(purpose: str) -> bool:
    return bool(purpose) and purpose in PERSONAL_DOCUMENT_PURPOSES


@dataclass
class PersonalRecords:
    """One kind of record that holds personal information.

    `closed_at`: the field (or `__` path) holding when the record was closed, or a callable
    `(queryset, cutoff) -> queryset` of the records closed before `cutoff`. A record not
    closed is never erased. `erase_fields`: plain fields erased with the personal fields (a
    buyer's name); fields not named and not personal (amounts, invoice numbers) are what
    accounting keeps. `keep_while(instance)` names a duty to keep the record (a code) or None.
    """

    model: type
    kind: str
    label: object
    visible_to: Callable
    closed_at: str | Callable
    erase_fields: tuple = ()
    document_purposes: tuple | None = None  # None: every personal purpose
    retention_days: int | None = None
    keep_while: Callable | None = None

    @property
    def fields(self) -> list[PersonalDataField]:
        return personal_fields(self.model)

    @property
    def purposes(self) -> list[str]:
        if self.document_purposes is None:
            return list(PERSONAL_DOCUMENT_PURPOSES)
        return list(self.document_purposes)

    def retention_period_days(self) -> int:
        configured = settings.PERSONAL_DATA_RETENTION_DAYS
        if self.kind in configured:
            return configured[self.kind]
        if self.retention_days is not None:
            return self.retention_days
        return settings.PERSONAL_DATA_RETENTION_DEFAULT_DAYS

    def closed_before(self, cutoff):
        queryset = self.model._default_manager.all()
        if callable(self.closed_at):
            return self.closed_at(queryset, cutoff)
        return queryset.filter(**{f"{self.closed_at}__lt": cutoff})

    def is_closed(self, instance) -> bool:
        if callable(self.closed_at):
            from django.utils import timezone

            return self.closed_before(timezone.now()).filter(pk=instance.pk).exists()
        value = instance
        for part in self.closed_at.split("__"):
            value = getattr(value, part, None)
            if value is None:
                return False
        return True

    def duty(self, instance) -> str:
        """Why the record must be kept now ("" when nothing keeps it)."""
        if not self.is_closed(instance):
            return "record_open"
        if self.keep_while is not None:
            return self.keep_while(instance) or ""
        return ""

    def get_for_user(self, *, user, pk):
        instance = self.visible_to(user=user).filter(pk=pk).first()
        if instance is None:
            raise Http404
        return instance


_RECORDS: dict[str, PersonalRecords] = {}


def personal_records_register(records: PersonalRecords) -> PersonalRecords:
    """Declare a kind of record at ready(); registering the same model again replaces it."""
    for field_name in records.erase_fields:
        field = records.model._meta.get_field(field_name)
        if not (field.null or isinstance(field, models.CharField | models.TextField)):
            raise ImproperlyConfigured(
                f"{records.model.__name__}.{field_name} cannot be erased: make it null=True"
            )
    _RECORDS[records.model._meta.label_lower] = records
    return records


def personal_records_all() -> list[PersonalRecords]:
    """The registered kinds of record whose app is installed."""
    installed = {config.label for config in apps.get_app_configs()}
    return [records for records in _RECORDS.values() if records.model._meta.app_label in installed]


def personal_records_for(model) -> PersonalRecords:
    try:
        return _RECORDS[model._meta.label_lower]
    except KeyError:
        raise ImproperlyConfigured(f"{model.__name__} is not registered as personal") from None


# Seeing a value in full ----------------------------------------------------------------------

SOURCE_HTML, SOURCE_API, SOURCE_DOCUMENT = "html", "api", "document"
SOURCE_EXPORT, SOURCE_COMMAND = "subject_export", "command"
SOURCE_LABELS = {
    SOURCE_HTML: _("page"),
    SOURCE_API: _("API"),
    SOURCE_DOCUMENT: _("document"),
    SOURCE_EXPORT: _("subject access export"),
    SOURCE_COMMAND: _("command"),
}


def personal_data_may_see(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(VIEW_PERMISSION))


def personal_data_access_record(
    *, user, obj, field, source, reason="", client_address=None, attachment=None
):
    """Record one look at a record's personal value or document."""
    from ssa_ops.models import PersonalDataAccess

    signed_in = user is not None and getattr(user, "is_authenticated", False)
    return PersonalDataAccess.objects.create(
        user=user if signed_in else None,
        user_name=user.get_username() if signed_in else "system",
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
        object_id=str(obj.pk),
        field=field,
        source=source,
        reason=(reason or "")[:500],
        client_address=client_address or None,
        attachment_id=attachment.pk if attachment is not None else None,
    )


def personal_field_get(model, field_name: str) -> PersonalDataField:
    field = next((f for f in personal_fields(model) if f.name == field_name), None)
    if field is None:
        raise Http404
    return field


def personal_data_show(
    *, user, instance, field_name, source=SOURCE_HTML, reason="", client_address=None
) -> str:
    """The clear value of one personal field, for a user who may see it; the look is recorded.
    The caller has already found `instance` through the user's scope (a selector)."""
    personal_field_get(type(instance), field_name)
    if not personal_data_may_see(user):
        raise PermissionRefused(
            _("You may not see personal information in full."), code="personal_data_denied"
        )
    value = getattr(instance, field_name)
    personal_data_access_record(
        user=user,
        obj=instance,
        field=field_name,
        source=source,
        reason=reason,
        client_address=client_address,
    )
    return value.reveal() if isinstance(value, PersonalValue) else (value or "")


def personal_document_open(attachment, data: bytes, *, source=SOURCE_DOCUMENT) -> bytes:
    """The clear bytes of a stored document for the viewer that `attachment_get_for_user`
    found it for: personal documents need the permission (or to be the uploader) and each
    look is recorded. Raises PermissionDenied."""
    encrypted = document_is_encrypted(data)
    if not encrypted and not personal_document_purpose(attachment.purpose):
        return data
    viewer = getattr(attachment, "personal_data_viewer", None)
    uploader = viewer is not None and viewer.pk == attachment.uploaded_by_id
    if not (personal_data_may_see(viewer) or (uploader and viewer.is_authenticated)):
        # A 403 page in the browser, {"code": "permission_denied"} on the API.
        raise PermissionDenied("This document holds personal information.")
    personal_data_access_record(
        user=viewer,
        obj=attachment.owner,
        field=f"document:{attachment.purpose}",
        source=source,
        attachment=attachment,
    )
    return document_decrypt(data)
