from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from dealers.models import validate_credit_code
from ssa_ops.models import TimeStampedModel, user_reference
from ssa_ops.personal_data import PersonalDataField, PersonalHashField
from ssa_ops.workflow import REASON_CODED, REASON_OPTIONAL, Allowed, action, condition, four_eyes

# Attachment purposes that hold personal data (stored encrypted, every look recorded).
PERSONAL_DOCUMENT_PURPOSES = {
    "application_document": _("Application document (ID card and the like)"),
    "employment_proof": _("Employment proof"),
}


class BilingualName(models.Model):
    name_zh = models.CharField(_("Chinese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        """The name in the reader's language."""
        return self.name_en if get_language() == "en" and self.name_en else self.name_zh


class VehicleModel(BilingualName, TimeStampedModel):
    """A vehicle model the brand sells, with its list price (MSRP)."""

    code = models.CharField(_("model code"), max_length=30, unique=True)
    series = models.CharField(_("series"), max_length=50)
    msrp = models.DecimalField(
        _("MSRP (CNY)"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["series", "code"]
        verbose_name = _("vehicle model")
        verbose_name_plural = _("vehicle models")

    def __str__(self):
        return f"{self.code} {self.name}"


class DocumentType(BilingualName):
    """A kind of document a program may require: invoice, contract, ID card, press card..."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("document type")
        verbose_name_plural = _("document types")

    def __str__(self):
        return self.name


class Program(BilingualName, TimeStampedModel):
    """A special-sales program: who may buy under which terms (its rules are versioned)."""

    class Type(models.TextChoices):
        FLEET = "fleet", _("Fleet / key account")
        LEASING = "leasing", _("Leasing")
        ASSOCIATE = "associate", _("Associate")
        VIP = "vip", _("VIP")
        MEDIA = "media", _("Media")
        EMPLOYEE = "employee", _("Corporate employee")

    # Programs whose customers are approved one by one through a signing chain.
    APPLICATION_TYPES = (Type.ASSOCIATE, Type.VIP, Type.MEDIA)

    code = models.CharField(_("program code"), max_length=30, unique=True)
    type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    is_active = models.BooleanField(_("active"), default=True)
    # The checking company that confirms employment for corporate-employee qualifications.
    checking_vendor = models.ForeignKey(
        "ssa_ops.VendorCompany",
        verbose_name=_("checking vendor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("program")
        verbose_name_plural = _("programs")

    def __str__(self):
        return f"{self.code} {self.name}"


class ApproverRole(models.TextChoices):
    HR = "hr", _("HR")
    KAM = "kam", _("Key account manager")
    PR = "pr", _("PR")
    SALES_HEAD = "sales_head", _("Head of special sales")


class DocumentStage(models.TextChoices):
    PRE_APPLICATION = "pre_application", _("Pre-application")
    APPLICATION = "application", _("Application")
    QUALIFICATION = "qualification", _("Qualification")
    CLAIM = "claim", _("Claim")


class ProgramRule(models.Model):
    """One version of a program's rules, in force from `valid_from` until the next version's
    date. Versions are never edited: a change is a new version."""

    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="rules"
    )
    version = models.PositiveIntegerField(_("version"))
    valid_from = models.DateField(_("valid from"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = user_reference(_("created by"))
    # [{"model": vehicle model code, "amount": "5000.00"}]: support per unit in CNY.
    eligible_models = models.JSONField(_("eligible models"), default=list)
    max_units_per_customer = models.PositiveIntegerField(_("maximum units per customer"))
    period_days = models.PositiveIntegerField(_("rolling period (days)"))
    pre_application_required = models.BooleanField(_("pre-application required"), default=False)
    claim_window_days = models.PositiveIntegerField(_("claim window (days after invoice)"))
    # {stage: [document type codes]}
    required_documents = models.JSONField(_("required documents"), default=dict, blank=True)
    # [{"role": ApproverRole, "name": ..., "email": ...}] signed in this order.
    approver_chain = models.JSONField(_("approver chain"), default=list, blank=True)
    qualification_required = models.BooleanField(_("qualification check needed"), default=False)
    entitlement_units = models.PositiveIntegerField(_("entitlement (units)"), default=1)
    validity_days = models.PositiveIntegerField(_("validity (days)"), default=180)
    note = models.TextField(_("what changed"), blank=True)

    class Meta:
        ordering = ["program", "-valid_from", "-version"]
        verbose_name = _("program rule")
        verbose_name_plural = _("program rules")
        constraints = [
            models.UniqueConstraint(fields=["program", "version"], name="program_rule_version"),
            models.UniqueConstraint(
                fields=["program", "valid_from"], name="program_rule_one_per_day"
            ),
        ]

    def __str__(self):
        return f"{self.program.code} v{self.version}"

    def support_amount(self, model_code: str) -> Decimal | None:
        """The support per unit for a vehicle model (None: not eligible under this version)."""
        for row in self.eligible_models:
            if row["model"] == model_code:
                return Decimal(row["amount"])
        return None

    def documents_for(self, stage: str) -> list[str]:
        return list(self.required_documents.get(stage, []))

    @property
    def approver_rows(self):
        return [
            {**step, "role_label": ApproverRole(step["role"]).label}
            if step.get("role") in ApproverRole.values
            else step
            for step in self.approver_chain
        ]


class Industry(models.TextChoices):
    LOGISTICS = "logistics", _("Logistics")
    RENTAL = "rental", _("Car rental")
    MANUFACTURING = "manufacturing", _("Manufacturing")
    SERVICES = "services", _("Services")
    PUBLIC = "public", _("Public sector")
    OTHER = "other", _("Other")


class CorporateAccount(ConcurrentTransitionMixin, TimeStampedModel):
    """A corporate customer a dealer registers, usable in pre-applications and claims once
    ops approve it."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        RESET = "reset", _("Reset to dealer")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    EDITABLE_STATES = (Status.DRAFT, Status.RESET)

    dealer = models.ForeignKey(
        "dealers.Dealer",
        verbose_name=_("dealer"),
        on_delete=models.PROTECT,
        related_name="corporate_accounts",
    )
    status = FSMField(
        _("status"), choices=Status.choices, default=Status.DRAFT, protected=True, db_index=True
    )
    company_name = models.CharField(_("company name"), max_length=200)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, validators=[validate_credit_code]
    )
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices)
    province = models.CharField(_("province"), max_length=50)
    city = models.CharField(_("city"), max_length=50)
    fleet_size = models.PositiveIntegerField(_("fleet size"))
    contact_name = models.CharField(_("contact name"), max_length=100)
    contact_phone = models.CharField(_("contact phone"), max_length=30)
    contact_email = models.EmailField(_("contact email"), blank=True)
    created_by = user_reference(_("filed by"), required=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_by = user_reference(_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("corporate account")
        verbose_name_plural = _("corporate accounts")
        permissions = [("decide_corporateaccount", "Can approve, reset or reject accounts")]
        constraints = [
            # A rejected registration frees the code; every other one holds it.
            models.UniqueConstraint(
                fields=["credit_code"],
                condition=~models.Q(status="rejected"),
                name="corporate_account_credit_code_once",
            )
        ]

    def __str__(self):
        return self.number if self.pk else "CA (new)"

    @property
    def number(self):
        return f"CA-{self.pk:05d}"

    @transition(
        status,
        source=[Status.DRAFT, Status.RESET],
        target=Status.SUBMITTED,
        permission=Allowed("programs.change_corporateaccount"),
        custom=action(_("Submit to ops"), verb=_("submitted")),
    )
    def submit(self, *, at):
        self.submitted_at = at

    @transition(
        status,
        source=Status.SUBMITTED,
        target=Status.APPROVED,
        permission=Allowed("programs.decide_corporateaccount", four_eyes("created_by")),
        custom=action(
            _("Approve"),
            verb=_("approved"),
            reason=REASON_OPTIONAL,
            confirm=_("Approve this account? The dealer can use it in applications and claims."),
        ),
    )
    def approve(self, *, by, at):
        self.decided_by, self.decided_at = by, at

    @transition(
        status,
        source=Status.SUBMITTED,
        target=Status.RESET,
        permission=Allowed("programs.decide_corporateaccount", four_eyes("created_by")),
        custom=action(_("Reset to dealer"), verb=_("reset"), reason=REASON_CODED),
    )
    def reset(self, *, by, at):
        self.decided_by, self.decided_at = by, at

    @transition(
        status,
        source=Status.SUBMITTED,
        target=Status.REJECTED,
        permission=Allowed("programs.decide_corporateaccount", four_eyes("created_by")),
        custom=action(_("Reject"), verb=_("rejected"), reason=REASON_CODED, style="danger"),
    )
    def reject(self, *, by, at):
        self.decided_by, self.decided_at = by, at


class SpecialApplication(ConcurrentTransitionMixin, TimeStampedModel):
    """An associate, VIP or media customer's application, signed by the rule's approvers in
    order; once approved it has an SSA number, a validity period and an entitlement in units."""

    # Its timeline also speaks of its approval steps' fields.
    audit_describes = ("programs.ApprovalStep",)

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SIGNING = "signing", _("Being signed")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    OPEN_STATES = (Status.DRAFT, Status.SIGNING)

    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="applications"
    )
    # The rule version in force on the application date, kept so later versions change nothing.
    rule = models.ForeignKey(
        ProgramRule, verbose_name=_("rule version"), on_delete=models.PROTECT, related_name="+"
    )
    applied_on = models.DateField(_("application date"))
    status = FSMField(
        _("status"), choices=Status.choices, default=Status.DRAFT, protected=True, db_index=True
    )
    applicant_name = models.CharField(_("applicant"), max_length=100)
    id_number = PersonalDataField(_("ID number"), kind="id_number")
    id_number_hash = PersonalHashField(source="id_number")
    # associate
    employee_number = PersonalDataField(_("employee number"), kind="employee_number")
    company_entity = models.CharField(_("company entity"), max_length=200, blank=True)
    relation = models.CharField(_("relation to the employee"), max_length=50, blank=True)
    # VIP
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True)
    # media
    media_outlet = models.CharField(_("media outlet"), max_length=200, blank=True)
    press_card_number = models.CharField(_("press card number"), max_length=50, blank=True)
    vehicle_model = models.ForeignKey(
        VehicleModel, verbose_name=_("requested model"), on_delete=models.PROTECT, related_name="+"
    )
    dealer = models.ForeignKey(
        "dealers.Dealer",
        verbose_name=_("dealer"),
        on_delete=models.PROTECT,
        related_name="special_applications",
    )
    created_by = user_reference(_("filed by"), required=True)
    submitted_at = models.DateTimeField(_("sent for signing at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    ssa_number = models.CharField(_("SSA number"), max_length=20, unique=True, null=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    entitlement_units = models.PositiveIntegerField(_("entitlement (units)"), default=0)
    units_used = models.PositiveIntegerField(_("units used"), default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("special sales application")
        verbose_name_plural = _("special sales applications")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(units_used__lte=models.F("entitlement_units")),
                name="application_units_within_entitlement",
            )
        ]

    def __str__(self):
        return self.ssa_number or self.number

    @property
    def number(self):
        return f"AP-{self.pk:05d}" if self.pk else "AP (new)"

    @property
    def current_step(self):
        """The step waiting for its approver (from prefetched steps in lists), or None."""
        return next((s for s in self.steps.all() if s.status == ApprovalStep.Status.PENDING), None)

    @property
    def units_left(self) -> int:
        return max(self.entitlement_units - self.units_used, 0)

    @transition(
        status,
        source=Status.DRAFT,
        target=Status.SIGNING,
        permission=Allowed("programs.change_specialapplication"),
        conditions=[],
        custom=action(
            _("Send for signing"),
            verb=_("sent for signing"),
            confirm=_("Send this application to its first approver by email?"),
        ),
    )
    def submit(self, *, at):
        self.submitted_at = at

    # Decided by the approvers through their emailed links: no button, no user permission.
    @transition(status, source=Status.SIGNING, target=Status.APPROVED)
    def approve(self, *, at, ssa_number, valid_from, valid_until, units):
        self.decided_at = at
        self.ssa_number = ssa_number
        self.valid_from, self.valid_until = valid_from, valid_until
        self.entitlement_units = units

    @transition(status, source=Status.SIGNING, target=Status.REJECTED)
    def reject(self, *, at):
        self.decided_at = at

    @transition(
        status,
        source=[Status.DRAFT, Status.SIGNING],
        target=Status.CANCELLED,
        permission=Allowed("programs.change_specialapplication"),
        custom=action(
            _("Cancel"),
            verb=_("cancelled"),
            reason=REASON_CODED,
            style="danger",
            confirm=_("Cancel this application? Its open approval links stop working."),
        ),
    )
    def cancel(self, *, at):
        self.decided_at = at

    @transition(status, source=Status.APPROVED, target=Status.EXPIRED)
    def expire(self):
        pass


class ApprovalStep(ConcurrentTransitionMixin, models.Model):
    """One approver's turn in an application's signing chain."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting for earlier steps")
        PENDING = "pending", _("Waiting for the approver")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    application = models.ForeignKey(
        SpecialApplication, on_delete=models.CASCADE, related_name="steps"
    )
    position = models.PositiveSmallIntegerField(_("step"))
    role = models.CharField(_("approver role"), max_length=20, choices=ApproverRole.choices)
    approver_name = models.CharField(_("approver"), max_length=100)
    approver_email = models.EmailField(_("approver email"))
    status = FSMField(_("status"), choices=Status.choices, default=Status.WAITING, protected=True)
    sent_at = models.DateTimeField(_("link sent at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["application", "position"]
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")
        constraints = [
            models.UniqueConstraint(fields=["application", "position"], name="one_step_per_place")
        ]

    def __str__(self):
        return f"{self.application} #{self.position} {self.get_role_display()}"

    @transition(status, source=Status.WAITING, target=Status.PENDING)
    def send_link(self, *, at):
        self.sent_at = at

    @transition(status, source=Status.PENDING, target=Status.PENDING)
    def send_again(self, *, at, name, email):
        self.sent_at, self.reminded_at = at, None
        self.approver_name, self.approver_email = name, email

    @transition(status, source=Status.PENDING, target=Status.PENDING)
    def remind(self, *, at):
        self.reminded_at = at

    @transition(status, source=Status.PENDING, target=Status.APPROVED)
    def approve(self, *, at, comment):
        self.decided_at, self.comment = at, comment

    @transition(status, source=Status.PENDING, target=Status.REJECTED)
    def reject(self, *, at, comment):
        self.decided_at, self.comment = at, comment

    @transition(status, source=[Status.WAITING, Status.PENDING], target=Status.CANCELLED)
    def cancel(self):
        pass


class SsaNumberCounter(models.Model):
    """The last SSA number given in a year: locked to hand out the next, so numbers are
    gap-free under concurrency."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("SSA number counter")
        verbose_name_plural = _("SSA number counters")

    def __str__(self):
        return f"{self.year}: {self.last}"


class EntitlementUse(models.Model):
    """Units of an application's entitlement taken by a pre-application or a claim."""

    application = models.ForeignKey(
        SpecialApplication, on_delete=models.PROTECT, related_name="entitlement_uses"
    )
    units = models.PositiveIntegerField(_("units"))
    # What took them ("app_label.model" and its pk), e.g. a claim.
    record_type = models.CharField(_("taken by"), max_length=100)
    record_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("taken at"), auto_now_add=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("entitlement use")
        verbose_name_plural = _("entitlement uses")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "record_type", "record_id"],
                condition=models.Q(released_at=None),
                name="entitlement_one_live_use_per_record",
            )
        ]

    def __str__(self):
        return f"{self.application}: {self.units} ({self.record_type} {self.record_id})"


@condition(
    message=_("Attach the proof of employment before sending it for checking."),
    code="proof_missing",
)
def has_employment_proof(qualification) -> bool:
    from ssa_ops.attachments import attachments_for

    return attachments_for(qualification).filter(purpose="employment_proof").exists()


class Qualification(ConcurrentTransitionMixin, TimeStampedModel):
    """Whether a customer of the corporate-employee program works for a partner company:
    checked by the checking vendor, then approved or rejected by ops."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CHECKING = "checking", _("With the checking vendor")
        PASSED = "passed", _("Check passed")
        FAILED = "failed", _("Check failed")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="qualifications"
    )
    rule = models.ForeignKey(
        ProgramRule, verbose_name=_("rule version"), on_delete=models.PROTECT, related_name="+"
    )
    dealer = models.ForeignKey(
        "dealers.Dealer",
        verbose_name=_("dealer"),
        on_delete=models.PROTECT,
        related_name="qualifications",
    )
    status = FSMField(
        _("status"), choices=Status.choices, default=Status.DRAFT, protected=True, db_index=True
    )
    customer_name = models.CharField(_("customer"), max_length=100)
    id_number = PersonalDataField(_("ID number"), kind="id_number")
    id_number_hash = PersonalHashField(source="id_number")
    employer_name = models.CharField(_("employer"), max_length=200)
    employee_number = PersonalDataField(_("employee number"), kind="employee_number")
    vendor = models.ForeignKey(
        "ssa_ops.VendorCompany",
        verbose_name=_("checking vendor"),
        on_delete=models.PROTECT,
        related_name="qualifications",
    )
    created_by = user_reference(_("filed by"), required=True)
    submitted_at = models.DateTimeField(_("sent for checking at"), null=True, blank=True)
    checked_by = user_reference(_("checked by"))
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    decided_by = user_reference(_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")
        permissions = [
            ("check_qualification", "Can return the result of an employment check"),
            ("decide_qualification", "Can approve or reject qualifications"),
        ]

    def __str__(self):
        return self.number if self.pk else "QU (new)"

    @property
    def number(self):
        return f"QU-{self.pk:05d}"

    @transition(
        status,
        source=Status.DRAFT,
        target=Status.CHECKING,
        permission=Allowed("programs.change_qualification"),
        conditions=[has_employment_proof],
        custom=action(_("Send for checking"), verb=_("sent for checking")),
    )
    def submit(self, *, at):
        self.submitted_at = at

    @transition(
        status,
        source=Status.CHECKING,
        target=Status.PASSED,
        permission=Allowed("programs.check_qualification"),
        custom=action(_("Check passed"), verb=_("check passed"), reason=REASON_CODED),
    )
    def check_pass(self, *, by, at):
        self.checked_by, self.checked_at = by, at

    @transition(
        status,
        source=Status.CHECKING,
        target=Status.FAILED,
        permission=Allowed("programs.check_qualification"),
        custom=action(
            _("Check failed"), verb=_("check failed"), reason=REASON_CODED, style="danger"
        ),
    )
    def check_fail(self, *, by, at):
        self.checked_by, self.checked_at = by, at

    @transition(
        status,
        source=Status.PASSED,
        target=Status.APPROVED,
        permission=Allowed("programs.decide_qualification", four_eyes("created_by")),
        custom=action(_("Approve"), verb=_("approved"), reason=REASON_OPTIONAL),
    )
    def approve(self, *, by, at):
        self.decided_by, self.decided_at = by, at

    @transition(
        status,
        source=[Status.PASSED, Status.FAILED],
        target=Status.REJECTED,
        permission=Allowed("programs.decide_qualification", four_eyes("created_by")),
        custom=action(_("Reject"), verb=_("rejected"), reason=REASON_CODED, style="danger"),
    )
    def reject(self, *, by, at):
        self.decided_by, self.decided_at = by, at
