"""Every write about dealers: master data, change requests (the reference workflow)."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from dealers.models import (
    CHANGEABLE_FIELDS,
    Dealer,
    DealerChangeRequest,
    DealerContact,
    DealerGroup,
    validate_credit_code,
)
from ssa_ops.accounts import users_with_permission
from ssa_ops.attachments import attachments_create
from ssa_ops.audit import audit_record, field_changes
from ssa_ops.errors import ApplicationError
from ssa_ops.notifications import users_notify
from ssa_ops.texts import text_from_error
from ssa_ops.validation import bool_clean, choice_clean, model_text_clean, text_clean
from ssa_ops.workflow import lock_for_update, transition_check, transition_perform, transition_run
from ssa_ops.workflow import outcome as workflow_outcome

CONTACT_FIELDS = ("role", "name", "phone", "email", "is_primary")
NOTE_MAX_LENGTH = 2000


def dealer_create(
    *, actor, code, name_zh, region, legal_entity, credit_code, name_en="", group=None, address=""
) -> Dealer:
    dealer = Dealer(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        region=region,
        group=group,
        legal_entity=legal_entity,
        credit_code=credit_code,
        address=address,
    )
    dealer.full_clean(exclude=["status"])
    dealer.save()
    audit_record(actor=actor, obj=dealer, action="create", to_state=dealer.status)
    return dealer


def contact_values_clean(values) -> dict:
    """One contact's values, checked and normalised: the one place a contact's values are
    validated, for the form, the API, the import and the services. Raises ValidationError with
    a message per field."""
    if not isinstance(values, dict):
        raise ValidationError({"values": _("Give the contact's values as an object.")})
    cleaned, errors = {}, {}
    for field, clean in (
        ("role", lambda v: choice_clean(v, DealerContact.Role.values)),
        ("name", lambda v: model_text_clean(DealerContact, "name", v)),
        ("phone", phone_clean),
        ("email", email_clean),
        ("is_primary", bool_clean),
    ):
        try:
            cleaned[field] = clean(values.get(field))
        except ValidationError as error:
            errors[field] = error
    if errors:
        raise ValidationError(errors)
    return cleaned


def phone_is_valid(phone: str) -> bool:
    digits = [char for char in phone if char.isdigit()]
    return 7 <= len(digits) <= 20 and all(char.isdigit() or char in "+- ()" for char in phone)


def phone_clean(value) -> str:
    phone = model_text_clean(DealerContact, "phone", value, required=True)
    if not phone_is_valid(phone):
        raise ValidationError(
            gettext_lazy("Enter a phone number of 7 to 20 digits (+, - and spaces allowed)."),
            code="phone",
        )
    return phone


def email_clean(value) -> str:
    email = model_text_clean(DealerContact, "email", value).lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(
                gettext_lazy("Enter a valid email address."), code="email"
            ) from None
    return email


def dealer_value_clean(field: str, value):
    """One changeable dealer field as a change request states it (the group as its code)."""
    if field == "group":
        if isinstance(value, DealerGroup):
            return value.code
        return text_clean(value, max_length=DealerGroup._meta.get_field("code").max_length)
    if field == "status":
        return choice_clean(value, Dealer.Status.values)
    cleaned = model_text_clean(Dealer, field, value)
    if field == "credit_code":
        cleaned = cleaned.upper()
        validate_credit_code(cleaned)
    return cleaned


def _proposal_build(
    *, dealer: Dealer, values: dict, contact_changes: list[dict]
) -> tuple[dict, list[dict]]:
    """Keep only what really changes; validate it against the dealer as it is now."""
    if not isinstance(values, dict):
        raise ValidationError({"values": _("Give the dealer's values as an object.")})
    if not isinstance(contact_changes, list | tuple) or not all(
        isinstance(change, dict) for change in contact_changes
    ):
        raise ValidationError({"contacts": _("Give the contact changes as a list of objects.")})
    unknown = sorted(set(values) - set(CHANGEABLE_FIELDS))
    if unknown:
        raise ValidationError(
            {"values": _("These fields cannot be changed: %(fields)s.") % {"fields": unknown}}
        )
    proposed, errors = {}, {}
    for field in CHANGEABLE_FIELDS:
        if field not in values:
            continue
        try:
            new = dealer_value_clean(field, values[field])
        except ValidationError as error:
            errors[field] = error
            continue
        if field == "group":
            if new and not DealerGroup.objects.filter(code=new).exists():
                errors["group"] = ValidationError(gettext_lazy("Unknown dealer group."))
            if new != dealer.change_value("group"):
                proposed["group"] = new
            continue
        if (
            field == "credit_code"
            and Dealer.objects.filter(credit_code=new).exclude(pk=dealer.pk).exists()
        ):
            errors[field] = ValidationError(
                gettext_lazy("Another dealer already has this credit code.")
            )
        if field == "status":
            if new not in Dealer.Status.values:
                errors[field] = ValidationError(gettext_lazy("Unknown status."))
            elif new != dealer.status and not can_proceed(
                getattr(dealer, Dealer.STATUS_TRANSITIONS[new])
            ):
                errors[field] = ValidationError(
                    gettext_lazy("A %(from)s dealer cannot become %(to)s."),
                    params={
                        "from": Dealer.Status(dealer.status).label,
                        "to": Dealer.Status(new).label,
                    },
                )
        if new != getattr(dealer, field):
            proposed[field] = new
    contacts = {contact.pk: contact for contact in dealer.contacts.all()}
    changes = []
    for index, change in enumerate(contact_changes):
        action, contact_id = change.get("action"), change.get("contact_id")
        if contact_id is not None and (type(contact_id) is not int):
            errors[f"contacts.{index}"] = ValidationError(
                gettext_lazy("That contact does not belong to this dealer.")
            )
            continue
        if action not in ("add", "update", "remove"):
            errors[f"contacts.{index}"] = ValidationError(gettext_lazy("Unknown contact change."))
            continue
        if action != "add" and contact_id not in contacts:
            errors[f"contacts.{index}"] = ValidationError(
                gettext_lazy("That contact does not belong to this dealer.")
            )
            continue
        if action == "remove":
            changes.append(
                {
                    "action": "remove",
                    "contact_id": contact_id,
                    "values": {},
                    "name": contacts[contact_id].name,
                }
            )
            continue
        try:
            cleaned = contact_values_clean(change.get("values", {}))
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                errors[f"contacts.{index}.{key}"] = messages[0]
            continue
        if action == "update":
            current = {field: getattr(contacts[contact_id], field) for field in CONTACT_FIELDS}
            if current == cleaned:
                continue
        change = {
            "action": action,
            "contact_id": contact_id if action == "update" else None,
            "values": cleaned,
        }
        if action == "update":
            change["before"] = current
        changes.append(change)
    primaries_after = _primary_count_after(contacts, changes)
    if primaries_after > 1:
        errors["contacts"] = ValidationError(
            gettext_lazy("A dealer has at most one primary contact.")
        )
    if errors:
        raise ValidationError(errors)
    if not proposed and not changes:
        raise ApplicationError(
            _("Nothing would change: edit at least one value."), code="no_changes"
        )
    return proposed, changes


def _primary_count_after(contacts: dict, changes: list[dict]) -> int:
    primary = {pk for pk, contact in contacts.items() if contact.is_primary}
    added = 0
    for change in changes:
        if change["action"] == "remove":
            primary.discard(change["contact_id"])
        elif change["action"] == "update":
            (primary.add if change["values"]["is_primary"] else primary.discard)(
                change["contact_id"]
            )
        elif change["values"]["is_primary"]:
            added += 1
    return len(primary) + added


@transaction.atomic
def change_request_create(
    *, actor, dealer: Dealer, values: dict, contact_changes=(), note="", documents=()
) -> DealerChangeRequest:
    """File a change request as a draft. `values` holds the dealer fields as they should become."""
    if not dealer.accepts_changes:
        raise ApplicationError(
            _("The dealer is terminated: its data can no longer change."),
            code="dealer_terminated",
        )
    proposed, changes = _proposal_build(
        dealer=dealer, values=values, contact_changes=list(contact_changes)
    )
    try:
        note = text_clean(note, max_length=NOTE_MAX_LENGTH, multiline=True)
    except ValidationError as error:
        raise ValidationError({"note": error}) from None
    change_request = DealerChangeRequest.objects.create(
        dealer=dealer,
        proposed=proposed,
        contact_changes=changes,
        note=note,
        created_by=actor,
    )
    attachments_create(
        owner=change_request, uploads=documents, actor=actor, purpose="supporting_document"
    )
    audit_record(
        actor=actor,
        obj=change_request,
        action="create",
        to_state=change_request.status,
        changes={
            **{field: [dealer.change_value(field), value] for field, value in proposed.items()},
            **({"contacts": _contact_changes_described(dealer, changes)} if changes else {}),
        },
    )
    return change_request


def _contact_changes_described(dealer: Dealer, contact_changes: list[dict]) -> list[dict]:
    """The audit's words for contact changes against the contacts as they are now: who is
    added, removed or changed, and how."""
    contacts = {contact.pk: contact for contact in dealer.contacts.all()}
    described = []
    for change in contact_changes:
        if change["action"] == "add":
            values = change["values"]
            described.append(
                {"added": values["name"], **{f: values[f] for f in CONTACT_FIELDS if f != "name"}}
            )
            continue
        contact = contacts[change["contact_id"]]
        if change["action"] == "remove":
            described.append({"removed": contact.name})
        else:
            before = {field: getattr(contact, field) for field in CONTACT_FIELDS}
            described.append(
                {"updated": contact.name, **field_changes_dict(before, change["values"])}
            )
    return described


@transaction.atomic
def change_request_add_documents(*, actor, pk, documents) -> DealerChangeRequest:
    change_request = lock_for_update(DealerChangeRequest.objects.all(), pk)
    if not change_request.accepts_documents:
        raise ApplicationError(
            _("Documents can be added only while the request is a draft."), code="not_draft"
        )
    for attachment in attachments_create(
        owner=change_request, uploads=documents, actor=actor, purpose="supporting_document"
    ):
        audit_record(
            actor=actor, obj=change_request, action="attach", reason=attachment.original_name
        )
    return change_request


_CHANGE_REQUESTS = DealerChangeRequest.objects.select_related("dealer", "created_by")


def change_request_submit(*, actor, pk) -> DealerChangeRequest:
    with transaction.atomic():
        change_request = transition_run(
            queryset=_CHANGE_REQUESTS,
            pk=pk,
            name="submit",
            actor=actor,
            params={"at": timezone.now()},
        )
        users_notify(
            users=users_with_permission("dealers.decide_dealerchangerequest").exclude(pk=actor.pk),
            template="change_request_submitted",
            context={"change_request": change_request},
            related_object=change_request,
        )
    return change_request


def change_request_approve(*, actor, pk, reason="") -> DealerChangeRequest:
    """Approve and apply: the change is written into the dealer by a task right after commit;
    the filer hears once, when it is applied (or when ops cancel it)."""
    with transaction.atomic():
        change_request = transition_run(
            queryset=_CHANGE_REQUESTS,
            pk=pk,
            name="approve",
            actor=actor,
            reason=reason,
            params={"by": actor, "at": timezone.now(), "note": (reason or "").strip()},
        )
        from dealers.tasks import apply_dealer_change_request

        transaction.on_commit(lambda: apply_dealer_change_request.delay(pk, actor.pk))
    return change_request


def change_request_reject(*, actor, pk, reason) -> DealerChangeRequest:
    with transaction.atomic():
        change_request = transition_run(
            queryset=_CHANGE_REQUESTS,
            pk=pk,
            name="reject",
            actor=actor,
            reason=reason,
            params={"by": actor, "at": timezone.now(), "note": (reason or "").strip()},
        )
        _notify_filer(change_request)
    return change_request


def change_request_cancel(*, actor, pk, reason) -> DealerChangeRequest:
    """An approved request that cannot be applied is given up, with a reason."""
    with transaction.atomic():
        change_request = transition_run(
            queryset=_CHANGE_REQUESTS,
            pk=pk,
            name="cancel",
            actor=actor,
            reason=reason,
            params={"by": actor, "at": timezone.now(), "note": (reason or "").strip()},
        )
        _notify_filer(change_request)
    return change_request


def change_request_apply(*, actor, pk) -> DealerChangeRequest:
    """Ops' "Apply again" on an approved request that could not be applied before."""
    return _change_request_apply(actor=actor, pk=pk, check_user=True)


def change_request_apply_approved(*, approved_by, pk) -> DealerChangeRequest:
    """The step right after approval (a task on commit): the approval authorised it, so only
    the state is checked. Run twice, or after ops cancelled the request, it changes nothing."""
    return _change_request_apply(actor=approved_by, pk=pk, check_user=False)


def _change_request_apply(*, actor, pk, check_user) -> DealerChangeRequest:
    """Write an approved request into the dealer; the dealer's audit log keeps old and new values.

    If the request no longer fits the dealer (its credit code was taken since, the dealer was
    terminated), it stays approved with the reason in apply_error, for ops to apply again or
    cancel, and the filer hears nothing until then.
    """
    with transaction.atomic():
        change_request = lock_for_update(_CHANGE_REQUESTS, pk)
        if check_user:
            if change_request.status == DealerChangeRequest.Status.APPROVED:
                # the dealer may be terminated meanwhile: that is recorded below, not refused
                transition_check(change_request, "apply", actor, conditions=False)
            else:
                transition_check(change_request, "apply", actor)
        elif change_request.status != DealerChangeRequest.Status.APPROVED:
            return change_request
        dealer = lock_for_update(Dealer.objects.select_related("group"), change_request.dealer_id)
        previous = {field: dealer.change_value(field) for field in change_request.proposed}
        try:
            if not dealer.accepts_changes:
                raise ValidationError(
                    gettext_lazy("The dealer is terminated: its data can no longer change.")
                )
            with transaction.atomic():
                dealer_changes, contact_changes = _dealer_apply(dealer, change_request, actor)
        except (ValidationError, ApplicationError) as error:
            problem = text_from_error(error)
            change_request.apply_error = [problem]
            change_request.save(update_fields=["apply_error", "updated_at"])
            audit_record(
                actor=actor, obj=change_request, action="apply_failed", reason_text=problem
            )
            return change_request
        transition_perform(
            change_request.apply,
            actor=actor,
            changes=dealer_changes,
            params={
                "at": timezone.now(),
                "previous": previous,
                "contact_changes": contact_changes or change_request.contact_changes,
            },
        )
        _notify_filer(change_request)
    return change_request


def _dealer_apply(dealer: Dealer, change_request: DealerChangeRequest, actor) -> dict:
    try:
        proposed, contact_changes = _proposal_build(
            dealer=dealer,
            values=change_request.proposed,
            contact_changes=change_request.contact_changes,
        )
    except ApplicationError as error:
        if error.code != "no_changes":
            raise
        proposed, contact_changes = {}, []  # the dealer already looks as requested
    values = dict(proposed)
    new_status = values.pop("status", None)
    if "group" in values:
        code = values.pop("group")
        group = DealerGroup.objects.get(code=code) if code else None
        values["group"] = group
    changes = field_changes(dealer, values)
    if "group" in changes:
        changes["group"] = [str(changes["group"][0] or ""), str(changes["group"][1] or "")]
    for field, value in values.items():
        setattr(dealer, field, value)
    dealer.full_clean(exclude=["status"])
    dealer.save(update_fields=[*values.keys(), "updated_at"])
    reason = change_request.number
    if changes:
        audit_record(
            actor=actor, obj=dealer, action="change_applied", reason=reason, changes=changes
        )
    if new_status and new_status != dealer.status:
        changes["status"] = [dealer.status, new_status]
        transition_perform(
            getattr(dealer, Dealer.STATUS_TRANSITIONS[new_status]), actor=actor, reason=reason
        )
    contact_log = _contacts_apply(dealer, contact_changes)
    if contact_log:
        audit_record(
            actor=actor,
            obj=dealer,
            action="contacts_changed",
            reason=reason,
            changes={"contacts": contact_log},
        )
        changes["contacts"] = contact_log
    return changes, contact_changes


def _contacts_apply(dealer: Dealer, contact_changes: list[dict]) -> list:
    log = _contact_changes_described(dealer, contact_changes)
    contacts = {contact.pk: contact for contact in dealer.contacts.all()}
    # Clear a primary flag first so the one-primary constraint holds at every step.
    if any(
        change["values"].get("is_primary")
        for change in contact_changes
        if change["action"] != "remove"
    ):
        dealer.contacts.filter(is_primary=True).update(is_primary=False)
        for contact in contacts.values():
            contact.is_primary = False
    for change in contact_changes:
        if change["action"] == "remove":
            contacts.pop(change["contact_id"]).delete()
        elif change["action"] == "update":
            contact = contacts[change["contact_id"]]
            for field, value in change["values"].items():
                setattr(contact, field, value)
            contact.save()
        else:
            DealerContact.objects.create(dealer=dealer, **change["values"])
    return log


def field_changes_dict(before: dict, after: dict) -> dict:
    return {
        field: [before.get(field), value]
        for field, value in after.items()
        if before.get(field) != value
    }


def _notify_filer(change_request):
    users_notify(
        users=[change_request.created_by],
        template="change_request_status",
        context={"change_request": change_request},
        related_object=change_request,
    )


def change_request_outcome(change_request) -> tuple[bool, str]:
    """What a decision led to, in the resulting state's words (approving applies at once)."""
    if change_request.status == DealerChangeRequest.Status.APPROVED and change_request.apply_error:
        return False, _("%(number)s is approved but could not be applied: %(why)s") % {
            "number": change_request.number,
            "why": change_request.apply_error_display,
        }
    return workflow_outcome(change_request)
