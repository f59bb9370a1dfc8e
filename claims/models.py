"""Pre-applications (a dealer asks approval for a special sale) and claims (the support money
for one sold vehicle), each a workflow declared once with the kit."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from ssa_ops.models import TimeStampedModel, private_storage, user_reference
from ssa_ops.personal_data import PersonalDataField, PersonalHashField
from ssa_ops.workflow import REASON_CODED, REASON_OPTIONAL, Allowed, action, condition, four_eyes


class CustomerKind(models.TextChoices):
    """Who buys: which program types take which kind is decided in services."""

    CORPORATE = "corporate", _("Approved corporate account")
    APPLICATION = "application", _("Approved special sales application")
    INDIVIDUAL = "individual", _("Named individual")


def _missing_documents_sentence(record) -> str:
    from claims.selectors import documents_missing

    missing = documents_missing(record)
    return str(
        _("Documents missing: %(documents)s.") % {"documents": ", ".join(str(m) for m in missing)}
    )


@condition(
    message=_("Upload every document the program asks for first."),
    code="documents_missing",
    detail=_missing_documents_sentence,
)
def has_required_documents(record) -> bool:
    from claims.selectors import documents_missing

    return not documents_missing(record)


@condition(
    message=_("The claim window of this program has passed for this invoice date."),
    code="claim_window_passed",
)
def within_claim_window(claim) -> bool:
    return claim.submit_deadline is None or timezone.localdate() <= claim.submit_deadline


class PreApplication(ConcurrentTransitionMixin, TimeStampedModel):
    """A dealer's request, before the sale, to sell under a program to a named customer."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        RESUBMITTED = "resubmitted", _("Resubmitted")
        RESET = "reset", _("Reset to dealer")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    EDITABLE_STATES = (Status.DRAFT, Status.RESET)
    QUEUE_STATES = (Status.SUBMITTED, Status.RESUBMITTED)
    CLOSED_STATES = (Status.REJECTED, Status.EXPIRED, Status.CANCELLED)

    dealer = models.ForeignKey(
        "dealers.Dealer",
        verbose_name=_("dealer"),
        on_delete=models.PROTECT,
        related_name="preapplications",
    )
    program = models.ForeignKey(
        "programs.Program",
        verbose_name=_("program"),
        on_delete=models.PROTECT,
        related_name="preapplications",
    )
    # The rule version in force when it was filed, kept so later versions change nothing.
    rule = models.ForeignKey(
        "programs.ProgramRule",
        verbose_name=_("rule version"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = FSMField(_("status"), choices=Status.choices, default=Status.DRAFT, protected=True)
    customer_kind = models.CharField(_("customer"), max_length=20, choices=CustomerKind.choices)
    corporate_account = models.ForeignKey(
        "programs.CorporateAccount",
        verbose_name=_("corporate account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    special_application = models.ForeignKey(
        "programs.SpecialApplication",
        verbose_name=_("special sales application"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    customer_name = models.CharField(_("customer name"), max_length=200, blank=True)
    customer_id_number = PersonalDataField(_("customer ID number"), kind="id_number")
    customer_id_number_hash = PersonalHashField(source="customer_id_number")
    # [{"model": vehicle model code, "units": 2}]: models eligible under the rule.
    lines = models.JSONField(_("models and quantities"), default=list)
    delivery_month = models.DateField(_("expected delivery month"))
    created_by = user_reference(_("filed by"), required=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # When it last entered the ops queue (submit or resubmit): the queue's order and its age.
    queued_at = models.DateTimeField(_("waiting since"), null=True, blank=True)
    decided_by = user_reference(_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("pre-application")
        verbose_name_plural = _("pre-applications")
        permissions = [
            ("decide_preapplication", "Can approve, reset or reject pre-applications"),
            ("cancel_preapplication", "Can cancel an approved pre-application"),
        ]
        indexes = [
            models.Index(
                fields=["status", "queued_at", "id"],
                name="preapp_queue",
                condition=models.Q(status__in=["submitted", "resubmitted"]),
            ),
            models.Index(fields=["dealer", "status", "queued_at", "id"], name="preapp_dealer"),
        ]

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return f"PA-{self.pk:06d}" if self.pk else "PA (new)"

    @property
    def units(self) -> int:
        return sum(int(line["units"]) for line in self.lines)

    document_stage = "pre_application"

    @transition(
        status,
        source=Status.DRAFT,
        target=Status.SUBMITTED,
        permission=Allowed("claims.change_preapplication"),
        conditions=[has_required_documents],
        custom=action(_("Submit to ops"), verb=_("submitted")),
    )
    def submit(self, *, at):
        self.submitted_at = self.queued_at = at

    @transition(
        status,
        source=Status.RESET,
        target=Status.RESUBMITTED,
        permission=Allowed("claims.change_preapplication"),
        conditions=[has_required_documents],
        custom=action(_("Resubmit"), verb=_("resubmitted")),
    )
    def resubmit(self, *, at):
        self.queued_at = at

    @transition(
        status,
        source=[Status.SUBMITTED, Status.RESUBMITTED],
        target=Status.APPROVED,
        permission=Allowed("claims.decide_preapplication", four_eyes("created_by")),
        custom=action(_("Approve"), verb=_("approved"), reason=REASON_OPTIONAL),
    )
    def approve(self, *, by, at, valid_until):
        self.decided_by, self.decided_at, self.valid_until = by, at, valid_until

    @transition(
        status,
        source=[Status.SUBMITTED, Status.RESUBMITTED],
        target=Status.RESET,
        permission=Allowed("claims.decide_preapplication", four_eyes("created_by")),
        custom=action(_("Reset to dealer"), verb=_("reset"), reason=REASON_CODED),
    )
    def reset(self, *, by, at):
        self.decided_by, self.decided_at = by, at

    @transition(
        status,
        source=[Status.SUBMITTED, Status.RESUBMITTED],
        target=Status.REJECTED,
        permission=Allowed("claims.decide_preapplication", four_eyes("created_by")),
        custom=action(_("Reject"), verb=_("rejected"), reason=REASON_CODED, style="danger"),
    )
    def reject(self, *, by, at):
        self.decided_by, self.decided_at, self.closed_at = by, at, at

    @transition(
        status,
        source=Status.APPROVED,
        target=Status.CANCELLED,
        permission=Allowed("claims.cancel_preapplication"),
        custom=action(
            _("Cancel"),
            verb=_("cancelled"),
            reason=REASON_OPTIONAL,
            style="danger",
            confirm=_("Cancel this approved pre-application? Its entitlement is given back."),
        ),
    )
    def cancel(self, *, at):
        self.closed_at = at

    # Run by the daily expiry, not by a person: no button.
    @transition(status, source=Status.APPROVED, target=Status.EXPIRED)
    def expire(self, *, at):
        self.closed_at = at


class SettlementBatch(TimeStampedModel):
    """One dealer's settlement of a month: the approved claims paid together, with totals."""

    dealer = models.ForeignKey(
        "dealers.Dealer",
        verbose_name=_("dealer"),
        on_delete=models.PROTECT,
        related_name="settlements",
    )
    month = models.DateField(_("month"), help_text=_("The first day of the settled month"))
    claim_count = models.PositiveIntegerField(_("claims"), default=0)
    total_support = models.DecimalField(
        _("total support (CNY)"), max_digits=14, decimal_places=2, default=0
    )
    created_by = user_reference(_("settled by"), required=True)

    class Meta:
        ordering = ["-month", "dealer__code"]
        verbose_name = _("settlement batch")
        verbose_name_plural = _("settlement batches")
        constraints = [
            models.UniqueConstraint(fields=["dealer", "month"], name="settlement_one_per_month")
        ]

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return f"ST-{self.month:%Y%m}-{self.dealer_id:05d}" if self.month else "ST (new)"


class InvoiceCheckResult(models.TextChoices):
    """A claim's invoice check, worst first when a claim has several invoice documents."""

    UNREADABLE = "unreadable", _("Invoice unreadable")
    MISMATCH = "mismatch", _("OCR mismatch")
    NEEDS_REVIEW = "needs_review", _("Needs review")
    PENDING = "pending", _("Being read")
    PASS = "pass", _("Invoice matches")


class Claim(ConcurrentTransitionMixin, TimeStampedModel):
    """A dealer's claim for the support money of one sold vehicle, with its evidence."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        RESUBMITTED = "resubmitted", _("Resubmitted")
        THIRD_PARTY_CHECK = "third_party_check", _("With the checking vendor")
        IN_REVIEW = "in_review", _("In review")
        RESET = "reset", _("Reset to dealer")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SETTLED = "settled", _("Settled")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    EDITABLE_STATES = (Status.DRAFT, Status.RESET)
    QUEUE_STATES = (Status.SUBMITTED, Status.RESUBMITTED)
    OPEN_STATES = (
        Status.SUBMITTED,
        Status.RESUBMITTED,
        Status.THIRD_PARTY_CHECK,
        Status.IN_REVIEW,
        Status.RESET,
    )
    # A VIN in a claim of any other state (live or approved) cannot be claimed again.
    VIN_FREE_STATES = (Status.DRAFT, Status.REJECTED, Status.WITHDRAWN)
    CLOSED_STATES = (Status.REJECTED, Status.SETTLED, Status.WITHDRAWN)

    dealer = models.ForeignKey(
        "dealers.Dealer", verbose_name=_("dealer"), on_delete=models.PROTECT, related_name="claims"
    )
    program = models.ForeignKey(
        "programs.Program", verbose_name=_("program"), on_delete=models.PROTECT, related_name="+"
    )
    # The rule version in force on the invoice date: its support amount, window and checklist.
    rule = models.ForeignKey(
        "programs.ProgramRule",
        verbose_name=_("rule version"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    pre_application = models.ForeignKey(
        PreApplication,
        verbose_name=_("pre-application"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claims",
    )
    status = FSMField(_("status"), choices=Status.choices, default=Status.DRAFT, protected=True)
    customer_kind = models.CharField(_("customer"), max_length=20, choices=CustomerKind.choices)
    corporate_account = models.ForeignKey(
        "programs.CorporateAccount",
        verbose_name=_("corporate account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    special_application = models.ForeignKey(
        "programs.SpecialApplication",
        verbose_name=_("special sales application"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    vin = models.CharField(_("VIN"), max_length=17, db_index=True)
    vehicle_model = models.ForeignKey(
        "programs.VehicleModel",
        verbose_name=_("model"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    invoice_number = models.CharField(_("invoice number"), max_length=30, db_index=True)
    invoice_date = models.DateField(_("invoice date"))
    invoice_amount = models.DecimalField(
        _("amount including tax (CNY)"), max_digits=12, decimal_places=2
    )
    buyer_name = models.CharField(_("buyer name"), max_length=200)
    buyer_id_number = PersonalDataField(_("buyer ID number"), kind="id_number")
    buyer_id_number_hash = PersonalHashField(source="buyer_id_number")
    buyer_credit_code = models.CharField(
        _("buyer unified social credit code"), max_length=18, blank=True
    )
    delivery_date = models.DateField(_("delivery date"))
    # From the rule in force on the invoice date; never typed by anyone.
    support_amount = models.DecimalField(_("support amount (CNY)"), max_digits=12, decimal_places=2)
    created_by = user_reference(_("filed by"), required=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # When it last entered the ops queue (submit or resubmit): the queue's order and its age.
    queued_at = models.DateTimeField(_("waiting since"), null=True, blank=True)
    assigned_to = user_reference(_("reviewer"))
    picked_up_at = models.DateTimeField(_("picked up at"), null=True, blank=True)
    decided_by = user_reference(_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    settlement = models.ForeignKey(
        SettlementBatch,
        verbose_name=_("settlement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claims",
    )
    # When the dealer was reminded to answer the current reset (None: not yet).
    reset_reminded_at = models.DateTimeField(_("reminded of the reset at"), null=True, blank=True)
    # Flags set on both claims when another claim has the same invoice number or file.
    duplicate_invoice = models.BooleanField(_("invoice number on another claim"), default=False)
    duplicate_document = models.BooleanField(_("same file on another claim"), default=False)
    # The machine's first look at the invoice documents: the worst result of their checks
    # after ops' field reviews (empty: no invoice document yet). Never decides the claim.
    invoice_check = models.CharField(
        _("invoice check"),
        max_length=20,
        blank=True,
        default="",
        choices=InvoiceCheckResult.choices,
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        permissions = [
            ("decide_claim", "Can pick up, approve, reset or reject claims"),
            ("settle_claims", "Can run the monthly settlement of approved claims"),
        ]
        constraints = [
            # Two claims of one VIN at once: the database lets only one be live.
            models.UniqueConstraint(
                fields=["vin"],
                condition=~models.Q(status__in=["draft", "rejected", "withdrawn"]),
                name="claim_vin_once_live",
            ),
            models.CheckConstraint(
                condition=models.Q(support_amount__gte=0), name="claim_support_not_negative"
            ),
        ]
        indexes = [
            # The ops queue: waiting claims, oldest first, straight off the index.
            models.Index(
                fields=["status", "queued_at", "id"],
                name="claim_queue",
                condition=models.Q(status__in=["submitted", "resubmitted", "in_review"]),
            ),
            models.Index(fields=["dealer", "status", "queued_at", "id"], name="claim_dealer"),
            models.Index(fields=["assigned_to", "status", "queued_at", "id"], name="claim_mine"),
            models.Index(fields=["program", "status", "queued_at", "id"], name="claim_program"),
            models.Index(
                fields=["invoice_check", "status", "queued_at", "id"],
                name="claim_invoice_check",
                condition=models.Q(invoice_check__in=["mismatch", "needs_review"]),
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return f"CL-{self.pk:07d}" if self.pk else "CL (new)"

    document_stage = "claim"

    @property
    def reset_answer_deadline(self):
        """The last day a reset may be answered (CLAIM_RESET_ANSWER_DAYS after the reset)."""
        import datetime

        if self.status != self.Status.RESET or self.decided_at is None:
            return None
        days = settings.CLAIM_RESET_ANSWER_DAYS
        return timezone.localdate(self.decided_at) + datetime.timedelta(days=days)

    @property
    def submit_deadline(self):
        """The last day it may be submitted: the rule's claim window after the invoice date."""
        import datetime

        if not self.rule_id:
            return None
        return self.invoice_date + datetime.timedelta(days=self.rule.claim_window_days)

    @transition(
        status,
        source=Status.DRAFT,
        target=Status.SUBMITTED,
        permission=Allowed("claims.change_claim"),
        conditions=[within_claim_window, has_required_documents],
        custom=action(_("Submit to ops"), verb=_("submitted")),
    )
    def submit(self, *, at):
        self.submitted_at = self.queued_at = at

    @transition(
        status,
        source=Status.RESET,
        target=Status.RESUBMITTED,
        permission=Allowed("claims.change_claim"),
        conditions=[has_required_documents],
        custom=action(_("Resubmit"), verb=_("resubmitted")),
    )
    def resubmit(self, *, at):
        self.queued_at = at
        self.assigned_to, self.picked_up_at = None, None
        self.reset_reminded_at = None

    @transition(
        status,
        source=[Status.SUBMITTED, Status.RESUBMITTED],
        target=Status.IN_REVIEW,
        permission=Allowed("claims.decide_claim", four_eyes("created_by")),
        custom=action(_("Pick up"), verb=_("picked up"), style="secondary"),
    )
    def pick_up(self, *, by, at):
        self.assigned_to, self.picked_up_at = by, at

    # Reserved for the checking vendor's issue: no button yet.
    @transition(status, source=Status.SUBMITTED, target=Status.THIRD_PARTY_CHECK)
    def send_to_check(self):
        pass

    @transition(
        status,
        source=Status.IN_REVIEW,
        target=Status.APPROVED,
        permission=Allowed("claims.decide_claim", four_eyes("created_by")),
        custom=action(_("Approve"), verb=_("approved"), reason=REASON_OPTIONAL),
    )
    def approve(self, *, by, at):
        self.decided_by, self.decided_at = by, at

    @transition(
        status,
        source=Status.IN_REVIEW,
        target=Status.RESET,
        permission=Allowed("claims.decide_claim", four_eyes("created_by")),
        custom=action(_("Reset to dealer"), verb=_("reset"), reason=REASON_CODED),
    )
    def reset(self, *, by, at):
        self.decided_by, self.decided_at = by, at

    @transition(
        status,
        source=Status.IN_REVIEW,
        target=Status.REJECTED,
        permission=Allowed("claims.decide_claim", four_eyes("created_by")),
        custom=action(_("Reject"), verb=_("rejected"), reason=REASON_CODED, style="danger"),
    )
    def reject(self, *, by, at):
        self.decided_by, self.decided_at, self.closed_at = by, at, at

    # Run by the daily check when a reset is not answered in time: no button.
    @transition(status, source=Status.RESET, target=Status.REJECTED)
    def reject_unanswered(self, *, at):
        self.decided_by, self.decided_at, self.closed_at = None, at, at

    @transition(
        status,
        source=[Status.DRAFT, Status.RESET],
        target=Status.WITHDRAWN,
        permission=Allowed("claims.change_claim"),
        custom=action(
            _("Withdraw"),
            verb=_("withdrawn"),
            style="danger",
            confirm=_("Withdraw this claim? It cannot be submitted again."),
        ),
    )
    def withdraw(self, *, at):
        self.closed_at = at

    # Run by the monthly settlement, not a button; a settled claim is final.
    @transition(status, source=Status.APPROVED, target=Status.SETTLED)
    def settle(self, *, at, batch):
        self.settled_at = self.closed_at = at
        self.settlement = batch


class InvoiceCheck(ConcurrentTransitionMixin, TimeStampedModel):
    """The machine's reading of one invoice document of a claim, compared with the claim field
    by field; ops accept a field or override it with a reason. Reading again replaces it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Being read")
        READ = "read", _("Read")
        UNREADABLE = "unreadable", _("Unreadable")

    claim = models.ForeignKey(
        Claim, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="invoice_checks"
    )
    attachment = models.OneToOneField(
        "ssa_ops.Attachment",
        verbose_name=_("document"),
        on_delete=models.CASCADE,
        related_name="invoice_check",
    )
    status = FSMField(_("status"), choices=Status.choices, default=Status.PENDING, protected=True)
    # Worker starts on this reading: a document that kills its worker again and again ends
    # unreadable instead of being redelivered for ever.
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(_("error"), max_length=30, blank=True)  # a code
    engine = models.CharField(_("engine"), max_length=40, blank=True)
    seconds = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    invoice_type = models.CharField(_("invoice type"), max_length=20, blank=True)
    # The reading (fields with confidence, source, page and box; checks): the buyer's ID
    # number masked here, kept whole only in buyer_id_read.
    reading = models.JSONField(default=dict, blank=True)
    buyer_id_read = PersonalDataField(_("buyer ID number read"), kind="id_number")
    # Field by field against the claim: {field: {claim, invoice, result, confidence, reason}}.
    comparison = models.JSONField(default=dict, blank=True)
    # Ops' word per field: {field: {action: accept|override, value, reason, by, at}}.
    reviews = models.JSONField(default=dict, blank=True)
    result = models.CharField(
        _("result"), max_length=20, choices=InvoiceCheckResult.choices, default="pending"
    )
    # The page as the reader saw it (upright, flattened), which the fields' boxes refer to.
    page_image = models.FileField(storage=private_storage, upload_to="invoice-pages/", blank=True)
    # Other claims whose invoice number or VIN is what this invoice says: [claim id, ...].
    other_claims = models.JSONField(default=list, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("invoice check")
        verbose_name_plural = _("invoice checks")

    def __str__(self):
        return f"{self.claim.number} · {self.attachment.original_name}"

    def field_results(self) -> dict[str, str]:
        """Each compared field's result once ops have had their word: an accepted field
        matches; an overridden one compares the value ops read with the claim, exactly."""
        from claims.invoice_reader.compare import MATCH, MISMATCH

        results = {}
        for name, item in (self.comparison.get("fields") or {}).items():
            review = self.reviews.get(name)
            if review is None:
                results[name] = item["result"]
            elif review["action"] == "accept":
                results[name] = MATCH
            else:
                results[name] = MATCH if review["matches"] else MISMATCH
        return results

    def result_now(self) -> str:
        """The result its state, comparison and reviews give (what `result` stores)."""
        from claims.invoice_reader.compare import MATCH, MISMATCH

        if self.status != self.Status.READ:
            return str(self.status)  # pending, unreadable: the same codes
        results = set(self.field_results().values())
        if MISMATCH in results:
            return InvoiceCheckResult.MISMATCH
        if results == {MATCH}:
            return InvoiceCheckResult.PASS
        return InvoiceCheckResult.NEEDS_REVIEW

    # Run by the reading task, not a person: no button.
    @transition(status, source=Status.PENDING, target=Status.READ)
    def record(self, *, at):
        self.read_at = at

    @transition(status, source=Status.PENDING, target=Status.UNREADABLE)
    def record_unreadable(self, *, at, error):
        self.read_at, self.error = at, error

    @transition(
        status,
        source=[Status.READ, Status.UNREADABLE],
        target=Status.PENDING,
        permission=Allowed("claims.decide_claim"),
        custom=action(_("Read again"), verb=_("read again"), style="secondary"),
    )
    def rerun(self):
        self.attempts, self.error = 0, ""
