"""The one append-only audit log: written in the same transaction as the change it records."""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist

from ssa_ops.models import AUDIT_ACTION_LABELS, AuditEvent
from ssa_ops.texts import is_stored_text

SYSTEM_ACTOR_NAME = "system"


def _actor_fields(actor, actor_name=None):
    if actor is None or not getattr(actor, "is_authenticated", False):
        # A person without an account (an approver deciding by email link) is named as such.
        return {"actor": None, "actor_name": (actor_name or SYSTEM_ACTOR_NAME)[:150]}
    return {"actor": actor, "actor_name": actor.get_username()}


def _jsonable(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)


def audit_labels_register(labels: dict, *, model=None) -> None:
    """Apps name their audit actions (past-tense verbs, declared with gettext_lazy). With
    `model`, the words are that model's own: two workflows may both `approve` in their way."""
    if model is None:
        AUDIT_ACTION_LABELS.update(labels)
    else:
        AUDIT_ACTION_LABELS.update(
            {(model._meta.label_lower, action): label for action, label in labels.items()}
        )


def audit_event_build(
    *,
    actor,
    obj,
    action,
    from_state="",
    to_state="",
    reason="",
    reason_text=None,
    changes=None,
    reason_codes=None,
    actor_name=None,
) -> AuditEvent:
    """`reason` holds a person's own words; `reason_text` a system sentence (texts.text_store)
    that is translated for each reader."""
    assert reason_text is None or is_stored_text(reason_text)
    return AuditEvent(
        **_actor_fields(actor, actor_name),
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        action=action,
        from_state=from_state or "",
        to_state=to_state or "",
        reason=reason or "",
        reason_text=reason_text or {},
        reason_codes=list(reason_codes or []),
        changes=_jsonable(changes or {}),
    )


def audit_record(
    *,
    actor,
    obj,
    action,
    from_state="",
    to_state="",
    reason="",
    reason_text=None,
    changes=None,
    reason_codes=None,
    actor_name=None,
) -> AuditEvent:
    event = audit_event_build(
        actor=actor,
        obj=obj,
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        reason_text=reason_text,
        changes=changes,
        reason_codes=reason_codes,
        actor_name=actor_name,
    )
    event.save()
    return event


def audit_record_many(events: list[AuditEvent]) -> None:
    AuditEvent.objects.bulk_create(events, batch_size=2000)


def audit_events_for(obj):
    """The timeline of one record, newest first."""
    return AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
        object_id=str(obj.pk),
    ).select_related("actor")


def field_changes(instance, new_values: dict) -> dict:
    """{field: [old, new]} for the values that differ from the instance's."""
    changes = {}
    for field, new in new_values.items():
        old = getattr(instance, field)
        wrap = getattr(_model_field(instance, field), "wrap", None)
        if wrap is not None:  # a personal value: compared and recorded masked, never in clear
            new = wrap(new)
        if old != new:
            changes[field] = [old, new]
    return changes


def _model_field(instance, name):
    try:
        return instance._meta.get_field(name)
    except FieldDoesNotExist:
        return None
