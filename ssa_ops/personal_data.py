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
- `personal_records_register(PersonalRecords(...))` declares a kind of record: who sees it,
  when it is closed, how long it is kept, what else is erased; retention, subject access and
  the show endpoints (personal_data_api.py, personal_data_views.py) follow from it.
"""

import base64
import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import (
    FieldError,
    ImproperlyConfigured,
    PermissionDenied,
    ValidationError,
)
from django.db import models
from django.db.models.lookups import Exact, IsNull
from django.db.models.query_utils import DeferredAttribute
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from ssa_ops.errors import PermissionRefused
from ssa_ops.personal_data_keys import MISSING_MESSAGE, key_decode, key_id

VIEW_PERMISSION = "ssa_ops.view_personal_data"

# Kinds of value -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonalKind:
    """A kind of personal value: how it is written the one way (for hashing and storing), how
    it is masked, what it must look like."""

    code: str
    label: object
    normalise: Callable[[str], str]
    mask: Callable[[str], str]
    validators: tuple = ()


_KINDS: dict[str, PersonalKind] = {}


def personal_kind_register(*kinds: PersonalKind) -> None:
    """Apps add kinds of their own (e.g. a car's VIN) at ready()."""
    for kind in kinds:
        _KINDS[kind.code] = kind


def personal_kind(code: str) -> PersonalKind:
    try:
        return _KINDS[code]
    except KeyError:
        raise ImproperlyConfigured(f"Unknown kind of personal value: {code!r}") from None


def _compact(value: str) -> str:
    return re.sub(r"[\s\-]", "", value).upper()


def _phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def _keep(value: str, head: int, tail: int) -> str:
    """Show `head` characters and `tail` characters, star the rest (all of a short value)."""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_valid(value: str) -> bool:
    """An 18-character resident ID number whose last character is its GB 11643 check."""
    if not re.fullmatch(r"\d{17}[\dX]", value or ""):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value, _ID_WEIGHTS, strict=False))
    return _ID_CHECK[total % 11] == value[17]


def validate_resident_id(value):
    if not resident_id_valid(_compact(str(value))):
        raise ValidationError(
            _("Enter a valid resident ID number (18 characters)."), code="invalid_id_number"
        )


def _mask_phone(value: str) -> str:
    if len(value) == 11 and value.startswith("1"):
        return _keep(value, 3, 4)
    return _keep(value, 0, 4)


personal_kind_register(
    PersonalKind(
        "id_number",
        _("Resident ID number"),
        _compact,
        lambda v: _keep(v, 6, 4),
        (validate_resident_id,),
    ),
    PersonalKind("phone", _("Phone number"), _phone, _mask_phone),
    PersonalKind("employee_number", _("Employee number"), _compact, lambda v: _keep(v, 2, 2)),
    PersonalKind("bank_account", _("Bank account"), _compact, lambda v: _keep(v, 4, 4)),
    PersonalKind(
        "housing_fund_account", _("Housing fund account"), _compact, lambda v: _keep(v, 2, 4)
    ),
    PersonalKind(
        "social_insurance_number",
        _("Social insurance number"),
        _compact,
        lambda v: _keep(v, 2, 4),
    ),
    PersonalKind("text", _("Personal information"), str.strip, lambda v: _keep(v, 1, 0)),
)


def mask(kind: str, value) -> str:
    """The masked form of a value: `110105********123X`, `138****8000`, `E1****67`."""
    if isinstance(value, PersonalValue):
        value = value.reveal()
    if not value:
        return ""
    personal = personal_kind(kind)
    return personal.mask(personal.normalise(str(value)))


# Remembered clear values, so the log filter can scrub them wherever they turn up --------------

_REMEMBERED: OrderedDict[str, str] = OrderedDict()
_REMEMBERED_LOCK = threading.Lock()
_REMEMBERED_MAX = 4096


def _remember(kind: str, clear: str) -> None:
    if len(clear) < 4:
        return
    with _REMEMBERED_LOCK:
        _REMEMBERED[clear] = kind
        _REMEMBERED.move_to_end(clear)
        while len(_REMEMBERED) > _REMEMBERED_MAX:
            _REMEMBERED.popitem(last=False)


def remembered_values() -> list[tuple[str, str]]:
    """(clear value, kind) of values this process has read or been given, longest first."""
    with _REMEMBERED_LOCK:
        items = list(_REMEMBERED.items())
    return sorted(items, key=lambda item: -len(item[0]))


class PersonalValue:
    """A clear personal value that shows itself masked: `str()`, `repr()` and formatting give
    the masked form; `reveal()` the value."""

    __slots__ = ("kind", "_clear")

    def __init__(self, kind: str, clear: str):
        self.kind = kind
        self._clear = clear
        _remember(kind, clear)

    def reveal(self) -> str:
        return self._clear

    @property
    def masked(self) -> str:
        return mask(self.kind, self._clear)

    def __str__(self):
        return self.masked

    def __repr__(self):
        return f"<PersonalValue {self.kind} {self.masked}>"

    def __format__(self, spec):
        return format(self.masked, spec)

    def __eq__(self, other):
        if isinstance(other, PersonalValue):
            return self._clear == other._clear
        if isinstance(other, str):
            return self._clear == other
        return NotImplemented

    def __hash__(self):
        return hash(self._clear)

    def __bool__(self):
        return bool(self._clear)

    def __len__(self):
        return len(self._clear)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


# Keys and ciphers --------------------------------------------------------------------------

TOKEN_PREFIX = "pd1:"
DOCUMENT_MAGIC = b"SSAPD1"


@dataclass(frozen=True)
class KeyRing:
    keys: dict  # key id -> raw key, the encrypting key first
    current_id: str
    hash_key: bytes


_RINGS: dict[tuple, KeyRing] = {}


def key_ring() -> KeyRing:
    """The configured keys (read again whenever the settings change, as tests do)."""
    keys = settings.PERSONAL_DATA_KEYS
    if isinstance(keys, str):
        keys = [item.strip() for item in keys.split(",") if item.strip()]
    configured = (tuple(keys), settings.PERSONAL_DATA_HASH_KEY)
    ring = _RINGS.get(configured)
    if ring is None:
        if not configured[0] or not configured[1]:
            raise ImproperlyConfigured(MISSING_MESSAGE)
        raws = [key_decode(key) for key in configured[0]]
        ring = KeyRing(
            keys={key_id(raw): raw for raw in raws},
            current_id=key_id(raws[0]),
            hash_key=key_decode(configured[1], name="PERSONAL_DATA_HASH_KEY"),
        )
        _RINGS.clear()
        _RINGS[configured] = ring
    return ring


def _key(ring: KeyRing, identifier: str) -> bytes:
    try:
        return ring.keys[identifier]
    except KeyError:
        raise ImproperlyConfigured(
            f"Personal information was encrypted with key {identifier}, which is not among "
            "PERSONAL_DATA_KEYS: add it back (after the current key) to read it."
        ) from None


def value_encrypt(kind: str, clear: str) -> str:
    ring = key_ring()
    nonce = AESGCM.generate_key(bit_length=128)[:12]
    sealed = AESGCM(ring.keys[ring.current_id]).encrypt(nonce, clear.encode(), kind.encode())
    return f"{TOKEN_PREFIX}{ring.current_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def is_token(value) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def token_key_id(token: str) -> str:
    return token[len(TOKEN_PREFIX) :].split(":", 1)[0]


def value_decrypt(kind: str, token: str) -> str:
    if not is_token(token):
        return token  # written before the field was encrypted; the rotate command encrypts it
    identifier, _sep, payload = token[len(TOKEN_PREFIX) :].partition(":")
    data = base64.urlsafe_b64decode(payload.encode())
    try:
        clear = AESGCM(_key(key_ring(), identifier)).decrypt(data[:12], data[12:], kind.encode())
    except InvalidTag as error:
        raise ValueError("Personal information does not decrypt: altered or wrong kind") from error
    return clear.decode()


def document_is_encrypted(data: bytes) -> bool:
    return data[: len(DOCUMENT_MAGIC)] == DOCUMENT_MAGIC


def document_key_id(data: bytes) -> str:
    start = len(DOCUMENT_MAGIC)
    return data[start : start + 8].decode("ascii", "replace")


def document_encrypt(data: bytes) -> bytes:
    """A stored document's bytes: magic, key id, nonce, AES-GCM ciphertext."""
    ring = key_ring()
    nonce = AESGCM.generate_key(bit_length=128)[:12]
    header = DOCUMENT_MAGIC + ring.current_id.encode("ascii")
    return header + nonce + AESGCM(ring.keys[ring.current_id]).encrypt(nonce, data, header)


def document_decrypt(data: bytes) -> bytes:
    """The clear bytes of a stored document (as they are when it was not encrypted)."""
    if not document_is_encrypted(data):
        return data
    header_end = len(DOCUMENT_MAGIC) + 8
    header, nonce = data[:header_end], data[header_end : header_end + 12]
    key = _key(key_ring(), document_key_id(data))
    try:
        return AESGCM(key).decrypt(nonce, data[header_end + 12 :], header)
    except InvalidTag as error:
        raise ValueError("A personal document does not decrypt: altered or truncated") from error


def personal_hash(kind: str, value) -> str:
    """The keyed hash of a value, for exact lookups and duplicate checks ("" when empty)."""
    if isinstance(value, PersonalValue):
        value = value.reveal()
    if not value:
        return ""
    normalised = personal_kind(kind).normalise(str(value))
    message = f"{kind}\x00{normalised}".encode()
    return hmac.new(key_ring().hash_key, message, hashlib.sha256).hexdigest()


# Model fields ------------------------------------------------------------------------------


class _PersonalDataAttribute(DeferredAttribute):
    """Whatever is assigned is kept as a PersonalValue (normalised), never as a bare str."""

    def __set__(self, instance, value):
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

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return IsNull
        if lookup_name == "exact":
            return _EmptyOnlyExact
        raise FieldError(
            f"{self.name} is encrypted: only `isnull` and `=''` work; use its hash field."
        )

    def run_validators(self, value):
        if isinstance(value, PersonalValue):
            value = value.reveal()
        super().run_validators(value)
        if value not in self.empty_values:
            errors = []
            for validator in personal_kind(self.kind).validators:
                try:
                    validator(value)
                except ValidationError as error:
                    errors.extend(error.error_list)
            if errors:
                raise ValidationError(errors)


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
