"""The one shape of a state change: lock the row, check, transition, save, audit."""

from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from ssa_ops.audit import audit_record
from ssa_ops.errors import TransitionNotAllowed


def lock_for_update(queryset, pk):
    """The row, locked until the surrounding transaction ends (no-op on SQLite)."""
    return queryset.select_for_update(of=("self",)).get(pk=pk)


def transition_perform(
    *, instance, transition, actor, reason="", changes=None, update_fields=(), **kwargs
):
    """Run one django-fsm transition on a locked instance and record it in the audit log.

    Must run inside transaction.atomic() on a row obtained through lock_for_update().
    """
    assert transaction.get_connection().in_atomic_block, "transitions run inside a transaction"
    method = getattr(instance, transition)
    from_state = instance.status
    if not can_proceed(method):
        raise TransitionNotAllowed(
            _("Not possible now: this record is already %(state)s.")
            % {"state": instance.get_status_display()},
            extra={"status": from_state},
        )
    method(**kwargs)
    fields = {"status", *update_fields}
    if any(field.name == "updated_at" for field in instance._meta.fields):
        fields.add("updated_at")
    instance.save(update_fields=sorted(fields))
    audit_record(
        actor=actor,
        obj=instance,
        action=transition,
        from_state=from_state,
        to_state=instance.status,
        reason=reason,
        changes=changes,
    )
    return instance
