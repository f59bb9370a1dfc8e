"""The one reason catalog for every reset, reject and check result: reasons are stored as codes
(so the reset/reject analysis can count them) and read in the reader's language.

Apps name the kinds of record their reasons apply to at ready():

    reason_kinds_register({"programs.corporateaccount": _("Corporate account")})

A transition declared with `reason=REASON_CODED` asks for at least one active reason of its
record's kind plus an optional comment (see workflow.reason_codes_clean).
"""

import re

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ssa_ops.audit import audit_record, field_changes
from ssa_ops.models import Reason
from ssa_ops.validation import bool_clean, text_clean

# "app_label.model" -> what the record is called (gettext_lazy); apps add theirs at ready().
REASON_KINDS: dict[str, object] = {}
_LABELS_CACHE_KEY = "ssa_ops:reason-labels"
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,49}$")


def reason_kinds_register(kinds: dict) -> None:
    REASON_KINDS.update(kinds)


def reason_kind(model) -> str:
    """The kind of record a model's reasons are filed under: "app_label.model"."""
    return model._meta.label_lower


def reason_kind_choices() -> list[tuple[str, str]]:
    return sorted(((kind, str(label)) for kind, label in REASON_KINDS.items()), key=lambda c: c[1])


# Reads ----------------------------------------------------------------------------------------


def reason_list(*, kind: str = "", active_only=False):
    reasons = Reason.objects.all()
    if active_only:
        reasons = reasons.filter(is_active=True)
    if kind:
        # applies_to is a short JSON list; filtered in Python so SQLite and PostgreSQL agree.
        codes = [r.code for r in reasons if kind in (r.applies_to or [])]
        reasons = reasons.filter(code__in=codes)
    return reasons


def reason_choices(kind: str) -> list[tuple[str, str]]:
    """(code, label) of the active reasons a record of `kind` may be given, by label."""
    return [(r.code, r.label) for r in reason_list(kind=kind, active_only=True)]


def _labels() -> dict[str, tuple[str, str]]:
    labels = cache.get(_LABELS_CACHE_KEY)
    if labels is None:
        labels = {r.code: (r.label_zh, r.label_en) for r in Reason.objects.all()}
        cache.set(_LABELS_CACHE_KEY, labels, 300)
    return labels


def reason_labels(codes) -> list[str]:
    """The labels of stored reason codes in the reader's language (a code no longer in the
    catalog reads as itself)."""
    labels = _labels()
    english = get_language() == "en"
    shown = []
    for code in codes or []:
        zh, en = labels.get(code, (code, code))
        shown.append((en or zh) if english else zh)
    return shown


def reason_codes_clean(*, kind: str, codes, required=True) -> list[str]:
    """At least one (when required) known, active reason that applies to `kind`."""
    if codes is None or codes == "":
        codes = []
    if isinstance(codes, str):
        codes = [codes]
    if not isinstance(codes, list | tuple) or not all(isinstance(c, str) for c in codes):
        raise ValidationError({"reasons": _("Give the reasons as a list of codes.")})
    codes = list(dict.fromkeys(code.strip() for code in codes if code.strip()))
    if required and not codes:
        raise ValidationError({"reasons": _("Choose at least one reason.")}, code="required")
    allowed = {code for code, _label in reason_choices(kind)}
    unknown = [code for code in codes if code not in allowed]
    if unknown:
        raise ValidationError(
            {
                "reasons": _("These reasons do not apply here: %(codes)s.")
                % {"codes": ", ".join(unknown)[:200]}
            },
            code="invalid_reason",
        )
    return codes


# Writes ---------------------------------------------------------------------------------------


def _values_clean(values: dict) -> dict:
    errors, cleaned = {}, {}
    for field, clean in (
        ("label_zh", lambda v: text_clean(v, max_length=200, required=True)),
        ("label_en", lambda v: text_clean(v, max_length=200, required=True)),
        ("is_active", lambda v: bool_clean(True if v is None else v)),
    ):
        if field in values:
            try:
                cleaned[field] = clean(values[field])
            except ValidationError as error:
                errors[field] = error
    if "applies_to" in values:
        kinds = values["applies_to"]
        if not isinstance(kinds, list | tuple) or not kinds:
            errors["applies_to"] = _("Choose at least one kind of record.")
        elif any(kind not in REASON_KINDS for kind in kinds):
            errors["applies_to"] = _("Unknown kind of record.")
        else:
            cleaned["applies_to"] = sorted(set(kinds))
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def reason_create(*, actor, code, label_zh, label_en, applies_to, is_active=True) -> Reason:
    code = text_clean(code, max_length=50, required=True).upper()
    if not _CODE.match(code):
        raise ValidationError(
            {"code": _("A code is 2 to 50 capital letters, digits or underscores.")}
        )
    if Reason.objects.filter(code=code).exists():
        raise ValidationError({"code": _("This code exists already.")})
    values = _values_clean(
        {
            "label_zh": label_zh,
            "label_en": label_en,
            "applies_to": applies_to,
            "is_active": is_active,
        }
    )
    reason = Reason.objects.create(code=code, **values)
    audit_record(actor=actor, obj=reason, action="create", changes={"code": code, **values})
    transaction.on_commit(lambda: cache.delete(_LABELS_CACHE_KEY))
    return reason


@transaction.atomic
def reason_update(*, actor, pk, **values) -> Reason:
    """Change a reason's labels, kinds or active flag; its code never changes (stored codes
    keep meaning what they meant)."""
    reason = Reason.objects.select_for_update().get(pk=pk)
    cleaned = _values_clean(values)
    changes = field_changes(reason, cleaned)
    if changes:
        for field, value in cleaned.items():
            setattr(reason, field, value)
        reason.save(update_fields=[*cleaned, "updated_at"])
        audit_record(actor=actor, obj=reason, action="update", changes=changes)
    transaction.on_commit(lambda: cache.delete(_LABELS_CACHE_KEY))
    return reason
