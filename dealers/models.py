from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from dealers.credit_code import credit_code_problem
from ssa_ops.models import TimeStampedModel, user_reference
from ssa_ops.texts import text_render
from ssa_ops.workflow import (
    REASON_OPTIONAL,
    REASON_REQUIRED,
    Allowed,
    action,
    condition,
    four_eyes,
)

CREDIT_CODE_MESSAGES = {
    "length": _("A unified social credit code has 18 characters."),
    "characters": _(
        "A unified social credit code uses only digits and capital letters "
        "other than I, O, Z, S, V."
    ),
    "check": _("The check character of this unified social credit code is wrong."),
}


def validate_credit_code(value):
    problem = credit_code_problem(value)
    if problem:
        raise ValidationError(CREDIT_CODE_MESSAGES[problem], code="credit_code_" + problem)


class Region(models.Model):
    """A sales region; region managers see the dealers in theirs."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        """The name in the reader's language."""
        return self.name_en if get_language() == "en" and self.name_en else self.name_zh


class DealerGroup(models.Model):
    """The investor group that owns one or more dealers."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        ordering = ["name"]
        verbose_name = _("dealer group")
        verbose_name_plural = _("dealer groups")

    def __str__(self):
        return self.name


class Dealer(ConcurrentTransitionMixin, TimeStampedModel):
    """A dealership that sells to corporate and special customers under its own code."""

    audit_describes = ("dealers.DealerContact",)

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    code = models.CharField(_("dealer code"), max_length=20, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="dealers"
    )
    group = models.ForeignKey(
        DealerGroup,
        verbose_name=_("dealer group"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dealers",
    )
    status = FSMField(
        _("status"), choices=Status.choices, default=Status.ACTIVE, protected=True, db_index=True
    )
    legal_entity = models.CharField(_("legal entity"), max_length=200)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_credit_code],
    )
    address = models.CharField(_("address"), max_length=300, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("dealer")
        verbose_name_plural = _("dealers")
        permissions = [
            ("view_all_dealers", "Can see every dealer"),
            ("import_dealers", "Can import dealers from Excel"),
            ("export_dealers", "Can export dealers to Excel"),
        ]

    def __str__(self):
        return f"{self.code} {self.name_zh}"

    @property
    def accepts_changes(self) -> bool:
        """A terminated dealer's data is final: no change request is filed or applied."""
        return self.status != self.Status.TERMINATED

    def change_value(self, field: str):
        """A field's value as change requests state it: the group as its code."""
        if field == "group":
            return self.group.code if self.group_id else ""
        return getattr(self, field)

    @transition(status, source=Status.ACTIVE, target=Status.SUSPENDED)
    def suspend(self):
        pass

    @transition(status, source=Status.SUSPENDED, target=Status.ACTIVE)
    def reactivate(self):
        pass

    @transition(status, source=[Status.ACTIVE, Status.SUSPENDED], target=Status.TERMINATED)
    def terminate(self):
        pass

    STATUS_TRANSITIONS = {
        Status.SUSPENDED: "suspend",
        Status.ACTIVE: "reactivate",
        Status.TERMINATED: "terminate",
    }


class DealerContact(TimeStampedModel):
    """A person at a dealer whom the Special Sales team contacts."""

    class Role(models.TextChoices):
        GENERAL_MANAGER = "general_manager", _("General manager")
        SALES_MANAGER = "sales_manager", _("Sales manager")
        SPECIAL_SALES = "special_sales", _("Special-sales contact")
        FINANCE = "finance", _("Finance")

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="contacts")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=30)
    email = models.EmailField(_("email"), blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["dealer", "-is_primary", "role", "name"]
        verbose_name = _("dealer contact")
        verbose_name_plural = _("dealer contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["dealer"],
                condition=models.Q(is_primary=True),
                name="one_primary_contact_per_dealer",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.get_role_display()})"


def _contact_role_label(role):
    return DealerContact.Role(role).label if role in DealerContact.Role.values else ""


def _contact_value_label(field, value):
    if field == "role":
        return _contact_role_label(value)
    if field == "is_primary":
        return _("yes") if value else _("no")
    return value


@condition(
    message=_("The dealer is terminated: its data can no longer change."), code="dealer_terminated"
)
def dealer_may_change(change_request) -> bool:
    return change_request.dealer.accepts_changes


# Dealer fields a change request may change, in display order.
CHANGEABLE_FIELDS = (
    "name_zh",
    "name_en",
    "legal_entity",
    "credit_code",
    "address",
    "group",
    "status",
)
CONTACT_CHANGE_LABELS = {"add": _("Add"), "update": _("Update"), "remove": _("Remove")}


class DealerChangeRequest(ConcurrentTransitionMixin, TimeStampedModel):
    """A request to change a dealer's master data, decided by ops before it is applied."""

    # Its audit events speak of dealer and contact fields (see AuditEvent.change_rows).
    audit_describes = ("dealers.Dealer", "dealers.DealerContact")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        APPLIED = "applied", _("Applied")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    # what ops must still act on
    OPEN_STATES = (Status.SUBMITTED, Status.APPROVED)

    dealer = models.ForeignKey(
        Dealer, verbose_name=_("dealer"), on_delete=models.PROTECT, related_name="change_requests"
    )
    status = FSMField(
        _("status"), choices=Status.choices, default=Status.DRAFT, protected=True, db_index=True
    )
    # {field: new value} for dealer fields; group as its code.
    proposed = models.JSONField(_("proposed values"), default=dict, blank=True)
    # {field: value} the dealer had when the request was applied, so the difference stays
    # readable afterwards.
    previous = models.JSONField(_("values before"), default=dict, blank=True)
    # [{"action": "add"|"update"|"remove", "contact_id": id|None, "values": {...},
    #   "before": {...} (update: the contact's values when filed, then when applied)}]
    contact_changes = models.JSONField(_("contact changes"), default=list, blank=True)
    note = models.TextField(_("explanation"), blank=True)
    created_by = user_reference(_("filed by"), required=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_by = user_reference(_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("decision reason"), blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    # Why an approved request could not be applied: stored texts (ssa_ops.texts), read in the
    # reader's language through apply_error_display.
    apply_error = models.JSONField(_("why it could not be applied"), default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("dealer change request")
        verbose_name_plural = _("dealer change requests")
        permissions = [
            ("decide_dealerchangerequest", "Can approve or reject dealer change requests")
        ]

    def __str__(self):
        # Its number only: lists of mixed records (outbox, audit) print it without a query.
        return self.number if self.pk else "CR (new)"

    @property
    def number(self):
        return f"CR-{self.pk:05d}"

    @property
    def apply_error_display(self) -> str:
        return "; ".join(text_render(item) for item in self.apply_error or [])

    @property
    def accepts_documents(self) -> bool:
        """Documents are added while the filer still edits the request."""
        return self.status == self.Status.DRAFT

    @property
    def proposed_fields(self):
        """The fields this request changes, in display order (jsonb keeps no key order)."""
        return [field for field in CHANGEABLE_FIELDS if field in self.proposed]

    @property
    def proposed_labels(self):
        return [Dealer._meta.get_field(field).verbose_name for field in self.proposed_fields]

    @property
    def proposed_rows(self):
        """Each changed field with its label, the value before (the dealer's now, or what it
        was when the request was applied) and the proposed one."""
        return [
            {
                "field": field,
                "label": Dealer._meta.get_field(field).verbose_name,
                "current": self._display_value(
                    field,
                    self.previous[field]
                    if field in self.previous
                    else self.dealer.change_value(field),
                ),
                "proposed": self._display_value(field, self.proposed[field]),
            }
            for field in self.proposed_fields
        ]

    @staticmethod
    def _display_value(field, value):
        if field == "status" and value in Dealer.Status.values:
            return Dealer.Status(value).label
        return value

    @property
    def proposed_text(self):
        """The proposed dealer values as one line, for exports."""
        return "; ".join(
            f"{label}: {self.proposed[field]}"
            for field, label in zip(self.proposed_fields, self.proposed_labels, strict=True)
        )

    @property
    def contact_change_rows(self):
        """contact_changes with the action and the role in words, and for an update each
        changed value as old → new."""
        rows = []
        for change in self.contact_changes:
            values, before = change.get("values") or {}, change.get("before") or {}
            rows.append(
                {
                    **change,
                    "action_label": CONTACT_CHANGE_LABELS.get(change["action"], change["action"]),
                    "role_label": _contact_role_label(values.get("role")),
                    "diff": [
                        {
                            "label": DealerContact._meta.get_field(field).verbose_name,
                            "old": _contact_value_label(field, before.get(field)),
                            "new": _contact_value_label(field, value),
                        }
                        for field, value in values.items()
                        if change["action"] == "update" and before.get(field) != value
                    ],
                }
            )
        return rows

    @transition(
        status,
        source=Status.DRAFT,
        target=Status.SUBMITTED,
        permission=Allowed("dealers.change_dealerchangerequest"),
        conditions=[dealer_may_change],
        custom=action(_("Submit to ops"), verb=_("submitted")),
    )
    def submit(self, *, at):
        self.submitted_at = at

    @transition(
        status,
        source=Status.SUBMITTED,
        target=Status.APPROVED,
        permission=Allowed("dealers.decide_dealerchangerequest", four_eyes("created_by")),
        conditions=[dealer_may_change],
        custom=action(
            _("Approve and apply"),
            verb=_("approved"),
            reason=REASON_OPTIONAL,
            confirm=_("Approve this request? The dealer's data changes now."),
        ),
    )
    def approve(self, *, by, at, note=""):
        self.decided_by, self.decided_at, self.decision_reason = by, at, note

    @transition(
        status,
        source=Status.SUBMITTED,
        target=Status.REJECTED,
        permission=Allowed("dealers.decide_dealerchangerequest", four_eyes("created_by")),
        custom=action(_("Reject"), verb=_("rejected"), reason=REASON_REQUIRED, style="danger"),
    )
    def reject(self, *, by, at, note):
        self.decided_by, self.decided_at, self.decision_reason = by, at, note

    @transition(
        status,
        source=Status.APPROVED,
        target=Status.APPLIED,
        permission=Allowed("dealers.decide_dealerchangerequest"),
        conditions=[dealer_may_change],
        custom=action(
            _("Apply again"),
            verb=_("applied"),
            confirm=_("Try again to write this request into the dealer's data?"),
        ),
    )
    def apply(self, *, at, previous, contact_changes):
        self.applied_at = at
        self.previous = previous
        self.contact_changes = contact_changes
        self.apply_error = []

    @transition(
        status,
        source=Status.APPROVED,
        target=Status.CANCELLED,
        permission=Allowed("dealers.decide_dealerchangerequest"),
        custom=action(
            _("Cancel"),
            verb=_("cancelled"),
            reason=REASON_REQUIRED,
            style="danger",
            confirm=_("Cancel this approved request? Nothing of it will be applied."),
        ),
    )
    def cancel(self, *, by, at, note):
        self.decided_by, self.decided_at, self.decision_reason = by, at, note
