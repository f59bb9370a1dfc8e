"""The workflow kit: a transition is declared once, on the model, and everything else follows.

    @transition(
        status, source=Status.SUBMITTED, target=Status.APPROVED,
        permission=Allowed("claims.decide_claim", four_eyes("created_by")),
        conditions=[dealer_is_open],
        custom=action(_("Approve"), verb=_("approved"), reason=REASON_OPTIONAL),
    )
    def approve(self, *, by, at): ...

From that declaration the kit derives who may press the button (django-fsm's available user
transitions), why it is refused (403 without permission, 409 when not possible now, with the
condition's own message), whether a reason is needed, the audit label, one API endpoint per
transition (`workflow_api_urls`) and the HTML action (`workflow_html_urls`). Every state change
runs the same way: lock the row, check, transition, save every changed field, audit.
"""

import copy
import datetime
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import FSMFieldMixin

from ssa_ops.audit import audit_event_build, audit_labels_register, audit_record_many
from ssa_ops.errors import ApplicationError, PermissionRefused, TransitionNotAllowed
from ssa_ops.validation import text_clean

REASON_MAX_LENGTH = 2000
REASON_NONE, REASON_OPTIONAL, REASON_REQUIRED = "none", "optional", "required"
# At least one coded reason from the shared catalog (ssa_ops.reasons) plus an optional comment.
REASON_CODED = "coded"


# Values that cannot change in place are kept as they are: a transition snapshots every field
# three times, and deep-copying datetimes was a seventh of a bulk approval's Python.
_IMMUTABLE = (str, int, float, Decimal, datetime.date, datetime.time, datetime.timedelta)
_IMMUTABLE += (uuid.UUID, bytes, type(None))


def _snapshot(instance) -> dict:
    values = {}
    for f in instance._meta.concrete_fields:
        value = getattr(instance, f.attname)
        if isinstance(f, models.FileField):
            value = value.name
        elif not isinstance(value, _IMMUTABLE):
            value = copy.deepcopy(value)  # JSON lists and dicts change in place
        values[f.attname] = value
    return values


def lock_for_update(queryset, pk):
    """The row, locked until the surrounding transaction ends (no-op on SQLite). Remembers the
    values it was read with, so that transition_perform saves whatever changed since."""
    instance = queryset.select_for_update(of=("self",)).get(pk=pk)
    instance._workflow_loaded = _snapshot(instance)
    return instance


# Declaring transitions ---------------------------------------------------------------------


def action(label, *, verb, reason=REASON_NONE, confirm="", style="primary") -> dict:
    """What people see of a transition: the button's label, the audit verb (past tense),
    whether a reason is asked for, and an optional confirmation question. Goes in `custom=`."""
    return {"label": label, "verb": verb, "reason": reason, "confirm": confirm, "style": style}


def condition(*, message, code="not_possible_now", detail=None):
    """Give an instance condition the sentence a refused user reads (a 409 when unmet).
    `detail(instance)`, when given, words the refusal for this record (e.g. what is missing)."""

    def decorate(func):
        func.refusal = (message, code)
        func.refusal_detail = detail
        return func

    return decorate


def four_eyes(field_name: str):
    """A user rule: whoever is named in `field_name` (e.g. who filed it) may not decide it."""

    def rule(instance, user):
        if getattr(instance, f"{field_name}_id", None) == user.pk:
            return PermissionRefused(
                _("You filed this; another colleague must decide it."), code="own_request"
            )
        return None

    rule.rule_name = "four_eyes"
    return rule


class Allowed:
    """django-fsm `permission=`: the user holds `codename` and passes every user rule."""

    def __init__(self, codename: str, *rules: Callable):
        self.codename = codename
        self.rules = rules

    def __call__(self, instance, user) -> bool:
        return self.refusal(instance, user) is None

    def refusal(self, instance, user) -> ApplicationError | None:
        if not (user and user.is_authenticated and user.has_perm(self.codename)):
            return PermissionRefused(_("You may not do this."), code="permission_denied")
        for rule in self.rules:
            problem = rule(instance, user)
            if problem is not None:
                return problem
        return None


def _state_field(model) -> FSMFieldMixin:
    return next(f for f in model._meta.fields if isinstance(f, FSMFieldMixin))


_DECLARED: dict[type, dict[str, object]] = {}


def transitions_declared(model) -> dict[str, object]:
    """name -> one django-fsm Transition of each transition that carries an `action()`."""
    found = _DECLARED.get(model)
    if found is None:  # declarations are fixed once the class exists: worked out once per model
        found = {}
        for item in _state_field(model).get_all_transitions(model):
            if item.custom.get("label") and item.name not in found:
                found[item.name] = item
        _DECLARED[model] = found
    return dict(found)


def transition_meta(model, name) -> dict:
    declared = transitions_declared(model).get(name)
    if declared is None:
        raise Http404
    return declared.custom


def _transition_for_state(instance, name):
    meta = getattr(type(instance), name)._django_fsm
    return meta.get_transition(_state_field(type(instance)).get_state(instance))


def transition_check(instance, name: str, user, *, conditions=True) -> None:
    """Raise why `user` may not run transition `name` on `instance` now: PermissionRefused
    (403) without the permission, TransitionNotAllowed (409) in the wrong state or when a
    condition fails, PermissionRefused for a user rule such as four eyes."""
    declared = transitions_declared(type(instance)).get(name)
    if declared is None:
        raise Http404
    permission = declared.permission
    if (
        isinstance(permission, Allowed)
        and user is not None
        and not (user.is_authenticated and user.has_perm(permission.codename))
    ):
        raise PermissionRefused(_("You may not do this."), code="permission_denied")
    current = _transition_for_state(instance, name)
    if current is None:
        raise TransitionNotAllowed(
            _("Not possible now: this record is %(state)s.") % {"state": _state_label(instance)},
            extra={"status": _state_field(type(instance)).get_state(instance)},
        )
    for check in current.conditions if conditions else ():
        if not check(instance):
            message, code = getattr(check, "refusal", (_("Not possible now."), "not_possible_now"))
            detail = getattr(check, "refusal_detail", None)
            raise TransitionNotAllowed(str(detail(instance) if detail else message), code=code)
    if user is not None:
        if isinstance(current.permission, Allowed):
            problem = current.permission.refusal(instance, user)
            if problem is not None:
                raise problem
        elif not current.has_perm(instance, user):
            raise PermissionRefused(_("You may not do this."), code="permission_denied")


def _state_label(instance) -> str:
    state_field = _state_field(type(instance))
    value = state_field.get_state(instance)
    return str(dict(state_field.flatchoices).get(value, value))


def reason_clean(model, name, reason) -> str:
    """The reason a transition carries, required where its declaration says so (for a coded
    transition: the optional comment beside the codes)."""
    try:
        reason = text_clean(reason, max_length=REASON_MAX_LENGTH, multiline=True)
    except ValidationError as error:
        raise ValidationError({"reason": error}) from None
    if transition_meta(model, name).get("reason") == REASON_REQUIRED and not reason:
        raise ValidationError({"reason": _("Give a reason.")})
    return reason


def reason_codes_for(model, name, codes) -> list[str]:
    """The coded reasons of a REASON_CODED transition, checked against the shared catalog;
    [] for any other transition."""
    if transition_meta(model, name).get("reason") != REASON_CODED:
        return []
    from ssa_ops.reasons import reason_codes_clean, reason_kind

    return reason_codes_clean(kind=reason_kind(model), codes=codes)


# Running transitions -----------------------------------------------------------------------


def transition_perform(
    bound_transition,
    *,
    actor,
    reason="",
    reason_text=None,
    changes=None,
    params=None,
    reason_codes=None,
    actor_name=None,
    audit_events=None,
):
    """Run one django-fsm transition on a locked instance, save every field it changed and
    record it in the audit log. `params` go to the transition; the rest is the audit's. With
    `audit_events` (a list), the event is added to it for the caller to write with the
    others of its transaction (audit_record_many) instead of being written now.

    Must run inside transaction.atomic() on a row obtained through lock_for_update().
    """
    assert transaction.get_connection().in_atomic_block, "transitions run inside a transaction"
    instance = bound_transition.__self__
    name = bound_transition.__name__
    from_state = _state_field(type(instance)).get_state(instance)
    if _transition_for_state(instance, name) is None:
        raise TransitionNotAllowed(
            _("Not possible now: this record is %(state)s.") % {"state": _state_label(instance)},
            extra={"status": from_state},
        )
    before = getattr(instance, "_workflow_loaded", None) or _snapshot(instance)
    bound_transition(**(params or {}))
    after = _snapshot(instance)
    changed = [
        f.name for f in instance._meta.concrete_fields if before[f.attname] != after[f.attname]
    ]
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
        changed.append("updated_at")
    instance.save(update_fields=sorted(set(changed)))
    instance._workflow_loaded = _snapshot(instance)
    event = audit_event_build(
        actor=actor,
        obj=instance,
        action=name,
        from_state=from_state,
        to_state=_state_field(type(instance)).get_state(instance),
        reason=reason,
        reason_text=reason_text,
        changes=changes,
        reason_codes=reason_codes,
        actor_name=actor_name,
    )
    if audit_events is None:
        event.save()
    else:
        audit_events.append(event)
    return instance


def transition_run(
    *, queryset, pk, name, actor, reason="", params=None, changes=None, reasons=None
):
    """Lock, check (permission, state, conditions, user rules), transition, save, audit.
    `reasons` are the codes a REASON_CODED transition needs (at least one). Refused before
    anything is written, so a caller may catch the refusal and go on in its transaction."""
    in_transaction = transaction.get_connection().in_atomic_block
    with nullcontext() if in_transaction else transaction.atomic():
        done, refused = transition_run_each(
            queryset=queryset,
            pks=[pk],
            steps=(name,),
            actor=actor,
            reason=reason,
            params=params,
            changes=changes,
            reasons=reasons,
        )
    if refused:
        raise next(iter(refused.values()))
    return next(iter(done.values()))


def transition_run_each(
    *, queryset, pks, steps, actor, reason="", params=None, changes=None, reasons=None
) -> tuple[dict, dict]:
    """Run transitions on many records in the surrounding transaction, each exactly as
    transition_run runs one: its row locked, checked, transitioned, saved and audited.

    The rows are locked at once, in pk order (two runs over the same rows never deadlock).
    `steps` names the transitions to run on each record in turn, or is a callable giving
    them for the locked record; the reason and its codes go with the last step. Returns
    ({pk: instance} done, {pk: refusal} refused): a refused record keeps none of its steps,
    a pk not found is refused with the model's DoesNotExist. The audit events are written
    together at the end. An error while writing (not a refusal) is raised and leaves the
    transaction to roll back whole.
    """
    assert transaction.get_connection().in_atomic_block, "transitions run inside a transaction"
    model = queryset.model
    pks = list(dict.fromkeys(model._meta.pk.to_python(pk) for pk in pks))
    locked = {}
    for instance in queryset.select_for_update(of=("self",)).filter(pk__in=pks).order_by("pk"):
        instance._workflow_loaded = _snapshot(instance)
        locked[instance.pk] = instance
    done, refused, events = {}, {}, []
    for pk in pks:
        instance = locked.get(pk)
        if instance is None:
            refused[pk] = model.DoesNotExist(f"No {model._meta.object_name} {pk}.")
            continue
        names = steps(instance) if callable(steps) else steps
        own_events = []
        try:
            # A record of several steps is undone whole when a later step is refused.
            with transaction.atomic() if len(names) > 1 else nullcontext():
                for index, name in enumerate(names):
                    last = index == len(names) - 1
                    _transition_checked_perform(
                        instance,
                        name,
                        actor=actor,
                        reason=reason if last else "",
                        reasons=reasons if last else None,
                        params=params,
                        changes=changes if last else None,
                        audit_events=own_events,
                    )
        except _Refused as refusal:
            refused[pk] = refusal.error
            continue
        events.extend(own_events)
        done[pk] = instance
    audit_record_many(events)
    return done, refused


class _Refused(Exception):
    """A refusal raised before anything was written, told apart from an error while writing
    (which dooms the transaction, even if it is a ValidationError)."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


def _transition_checked_perform(
    instance, name, *, actor, reason, reasons, params, changes, audit_events
):
    try:
        transition_check(instance, name, actor)
        reason = reason_clean(type(instance), name, reason)
        codes = reason_codes_for(type(instance), name, reasons)
    except (ApplicationError, ValidationError) as error:
        raise _Refused(error) from None
    # An error once writing has begun dooms the whole transaction: never a record half-changed.
    with transaction.atomic(savepoint=False):
        transition_perform(
            getattr(instance, name),
            actor=actor,
            reason=reason,
            params=params,
            changes=changes,
            reason_codes=codes,
            audit_events=audit_events,
        )


def actions_for(instance, user) -> list[dict]:
    """The transitions `user` may press on `instance` now, each with its declaration."""
    state_field = _state_field(type(instance))
    declared = transitions_declared(type(instance))
    available = getattr(instance, f"get_available_user_{state_field.name}_transitions")(user)
    return [
        {"name": item.name, **item.custom}
        for item in available
        if item.name in declared and item.custom.get("label")
    ]


# Registering workflows ---------------------------------------------------------------------


@dataclass
class Workflow:
    """One workflow's wiring: its model, who sees which records (a selector taking `user`),
    the service that runs each transition (called as `service(actor=, pk=, reason=)`), the
    serializer the API answers with, and the HTML detail page's URL name."""

    model: type[models.Model]
    slug: str
    visible_to: Callable
    services: dict[str, Callable]
    serializer: type | None = None
    detail_url_name: str = ""
    # instance -> (went well, what happened in words); default: "X is now <state>."
    outcome: Callable | None = None
    # Queue work: after one of `next_after` from the detail page, with "then the next one"
    # asked, the page at `next_url_name` (a "take next" view) opens instead of the record.
    next_url_name: str = ""
    next_after: tuple = ()
    transitions: dict = field(default_factory=dict)

    def service_for(self, name: str) -> Callable:
        if name not in self.services:
            raise Http404
        return self.services[name]

    def get_for_user(self, *, user, pk):
        instance = self.visible_to(user=user).filter(pk=pk).first()
        if instance is None:
            raise Http404
        return instance

    def run(self, *, name, user, pk, reason="", reasons=()):
        """Run transition `name` through its service, for a record the user may see. A coded
        transition's service also takes `reasons` (codes); `reason` is then the comment."""
        instance = self.get_for_user(user=user, pk=pk)
        meta = transition_meta(self.model, name)
        kwargs = {"actor": user, "pk": instance.pk}
        if meta.get("reason") != REASON_NONE:
            kwargs["reason"] = reason
        if meta.get("reason") == REASON_CODED:
            kwargs["reasons"] = list(reasons or [])
        return self.service_for(name)(**kwargs)


_WORKFLOWS: dict[type, Workflow] = {}


def workflow_register(workflow: Workflow) -> Workflow:
    declared = transitions_declared(workflow.model)
    missing = set(declared) - set(workflow.services)
    if missing:
        raise ValueError(f"{workflow.model.__name__}: no service for {sorted(missing)}")
    workflow.transitions = declared
    audit_labels_register(
        {name: item.custom["verb"] for name, item in declared.items()}, model=workflow.model
    )
    _WORKFLOWS[workflow.model] = workflow
    return workflow


def workflow_for(model) -> Workflow:
    return _WORKFLOWS[model]


def outcome(instance) -> tuple[bool, str]:
    """What happened, in the resulting state's words."""
    return True, _("%(record)s is now %(state)s.") % {
        "record": instance,
        "state": _state_label(instance),
    }


REASON_LABELS = {
    REASON_OPTIONAL: gettext_lazy("Reason (optional)"),
    REASON_REQUIRED: gettext_lazy("Reason (required)"),
    REASON_CODED: gettext_lazy("Comment (optional)"),
}
