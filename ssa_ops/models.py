"""Shared records every app uses: accounts, vendors, audit trail, attachments, outbox, jobs."""

import uuid

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.core.files.storage import storages
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from ssa_ops.roles import Role


def private_storage():
    return storages["private"]


def user_reference(verbose_name, *, required=False) -> models.ForeignKey:
    """Who filed, checked or decided a record: the user is kept as long as the record (PROTECT)
    and has no reverse accessor. Optional unless `required`."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        null=not required,
        blank=not required,
        on_delete=models.PROTECT,
        related_name="+",
    )


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" for char in text)


class VendorCompany(TimeStampedModel):
    """A third-party company that checks claims for the Special Sales team."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("vendor company")
        verbose_name_plural = _("vendor companies")

    def __str__(self):
        return self.name


class User(AbstractUser):
    """A person who signs in: staff, a dealer's user, a vendor's user, IT or an admin."""

    dealer = models.ForeignKey(
        "dealers.Dealer",
        verbose_name=_("dealer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    vendor = models.ForeignKey(
        VendorCompany,
        verbose_name=_("vendor company"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    regions = models.ManyToManyField(
        "dealers.Region", verbose_name=_("regions"), blank=True, related_name="managers"
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans"
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @cached_property
    def role(self) -> str:
        """The user's role: the first role group it belongs to ("" when none)."""
        names = {group.name for group in self.groups.all()}
        for role in Role:
            if role.value in names:
                return role.value
        return ""

    def get_full_name(self):
        """Chinese names read family name first with no space (陈晓); others "first last"."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if _has_cjk(first + last):
            return f"{last}{first}"
        return f"{first} {last}".strip()

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role else ""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit events are append-only")

    def delete(self):
        raise TypeError("Audit events are append-only")


# How the timeline names an audit action; apps add theirs (ssa_ops.audit.audit_labels_register)
# and every declared transition adds its verb. An action missing here is shown as stored.
AUDIT_ACTION_LABELS = {
    "create": _("created"),
    "update": _("updated"),
    "attach": _("attached a document"),
    "start": _("started"),
    "succeed": _("finished"),
    "fail": _("failed"),
    "mark_sent": _("sent"),
    "mark_failed": _("failed"),
    "requeue": _("queued again"),
    # the verbs of entries inside a change (e.g. one per contact)
    "added": _("added"),
    "removed": _("removed"),
    "updated": _("updated"),
}


ENTRY_VERBS = ("added", "removed", "updated")


def _is_structured(value):
    return any(isinstance(item, dict | list) for item in value)


def _field_or_none(model, name):
    try:
        return model._meta.get_field(name) if model is not None else None
    except FieldDoesNotExist:
        return None


class AuditEvent(models.Model):
    """One thing that happened to a record: who, when, what, from which state to which, why."""

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_name = models.CharField(_("actor"), max_length=150)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(_("object"), max_length=200)
    action = models.CharField(_("action"), max_length=50)
    from_state = models.CharField(_("from"), max_length=30, blank=True)
    to_state = models.CharField(_("to"), max_length=30, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # A system's reason (texts.text_store), translated for each reader; `reason` is a person's.
    reason_text = models.JSONField(_("reason"), default=dict, blank=True)
    # Coded reasons from the reason catalog (Reason.code), counted by reset/reject analysis.
    reason_codes = models.JSONField(_("reason codes"), default=list, blank=True)
    changes = models.JSONField(_("changed fields"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["content_type", "object_id", "created_at"])]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self):
        return f"{self.object_repr}: {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only")

    @property
    def reason_display(self):
        from ssa_ops.reasons import reason_labels
        from ssa_ops.texts import text_render

        said = text_render(self.reason_text) or self.reason
        if not self.reason_codes:
            return said
        labels = "; ".join(reason_labels(self.reason_codes))
        return f"{labels} — {said}" if said else labels

    @property
    def reason_labels(self):
        from ssa_ops.reasons import reason_labels

        return reason_labels(self.reason_codes or [])

    @property
    def action_label(self):
        model = self._model()
        if model is not None:
            own = AUDIT_ACTION_LABELS.get((model._meta.label_lower, self.action))
            if own is not None:
                return own
        return AUDIT_ACTION_LABELS.get(self.action, self.action)

    @property
    def from_state_label(self):
        return self._state_label(self.from_state)

    @property
    def to_state_label(self):
        return self._state_label(self.to_state)

    @property
    def change_rows(self):
        """One row per changed field: {field: [old, new]} or {field: value}, labelled."""
        rows = []
        for name, value in self.changes.items():
            row = {"label": self._label(name)}
            if isinstance(value, list) and len(value) == 2 and not _is_structured(value):
                row.update(
                    old=self._value_label(name, value[0]),
                    new=self._value_label(name, value[1]),
                    pair=True,
                )
            else:
                row.update(new=self._display(value, name), pair=False)
            rows.append(row)
        return rows

    @property
    def changes_text(self):
        """change_rows as one line, for exports."""
        return "; ".join(
            f"{row['label']}: {row['old'] if row['old'] not in (None, '') else '—'} → {row['new']}"
            if row["pair"]
            else f"{row['label']}: {row['new']}"
            for row in self.change_rows
        )

    def _display(self, value, name=""):
        """A structured value as one readable line, its keys and coded values in words."""
        if isinstance(value, dict):
            # PostgreSQL's jsonb does not keep key order: an entry's verb (added, removed,
            # updated) leads, whatever order the database returns.
            keys = sorted(value, key=lambda key: key not in ENTRY_VERBS)
            return "; ".join(
                f"{self._label(key)}: {self._display(value[key], key)}" for key in keys
            )
        if isinstance(value, list):
            if len(value) == 2 and not _is_structured(value):
                old, new = (self._value_label(name, item) for item in value)
                return f"{'—' if old in (None, '') else old} → {new}"
            return " | ".join(str(self._display(item, name)) for item in value)
        return self._value_label(name, value)

    def _value_label(self, name, value):
        """A stored code in words: a choice's label, yes/no for a flag."""
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if not name or not isinstance(value, str):
            return value
        model = self._model()
        described = [apps.get_model(label) for label in getattr(model, "audit_describes", ())]
        for candidate in [model, *described]:
            field = _field_or_none(candidate, name)
            if field is not None and field.choices:
                return dict(field.flatchoices).get(value, value)
        return value

    def _label(self, name):
        """An action word, or the verbose name of a field of the record or of the models its
        audit values describe (`audit_describes` on the model)."""
        if name in AUDIT_ACTION_LABELS:
            return AUDIT_ACTION_LABELS[name]
        model = self._model()
        described = [apps.get_model(label) for label in getattr(model, "audit_describes", ())]
        for candidate in [model, *described]:
            field = _field_or_none(candidate, name)
            if field is None:
                continue
            if field.auto_created and not field.concrete:  # a reverse relation, e.g. contacts
                return field.related_model._meta.verbose_name_plural
            return field.verbose_name
        return name

    def _model(self):
        return ContentType.objects.get_for_id(self.content_type_id).model_class()

    def _state_label(self, value):
        field = _field_or_none(self._model(), "status")
        if not value or field is None or not field.choices:
            return value
        return dict(field.flatchoices).get(value, value)


class Attachment(models.Model):
    """A document uploaded to a record, stored privately under a random name."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    owner = GenericForeignKey("content_type", "object_id")
    purpose = models.CharField(_("document type"), max_length=50, blank=True)
    file = models.FileField(storage=private_storage, upload_to="attachments/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    mime_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class RenditionStatus(models.TextChoices):
        NONE = "none", _("not needed")  # a browser shows the file as it is (PDF, JPEG, PNG)
        PENDING = "pending", _("being prepared")
        READY = "ready", _("ready")
        FAILED = "failed", _("could not be made")

    # The browser-viewable copy of a HEIC, TIFF or OFD, made by a task after upload.
    rendition_status = models.CharField(
        _("preview"), max_length=10, choices=RenditionStatus.choices, default=RenditionStatus.NONE
    )
    rendition_error = models.CharField(max_length=50, blank=True)  # why it failed, as a code
    rendition_text = models.JSONField(default=list, blank=True)  # an OFD's text, page by page

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.original_name


class AttachmentRendition(models.Model):
    """A browser-viewable image of one page of an attachment: a HEIC photo as JPEG, a TIFF
    page, an OFD's first page."""

    attachment = models.ForeignKey(Attachment, on_delete=models.CASCADE, related_name="renditions")
    page = models.PositiveIntegerField(_("page"))
    file = models.FileField(storage=private_storage, upload_to="renditions/", max_length=200)
    mime_type = models.CharField(max_length=50)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()

    class Meta:
        ordering = ["attachment", "page"]
        constraints = [
            models.UniqueConstraint(
                fields=["attachment", "page"], name="attachment_rendition_page_unique"
            )
        ]
        verbose_name = _("attachment preview")
        verbose_name_plural = _("attachment previews")

    def __str__(self):
        return f"{self.attachment} p.{self.page}"


class OutboundEmail(ConcurrentTransitionMixin, models.Model):
    """One email the platform sends, recorded before it goes out and marked sent or failed."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    to = models.JSONField(_("to"), default=list)
    subject = models.CharField(_("subject"), max_length=255)
    template = models.CharField(_("template"), max_length=100)
    language = models.CharField(_("language"), max_length=10)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.CharField(max_length=64, blank=True)
    related_object = GenericForeignKey("content_type", "object_id")
    status = FSMField(_("status"), choices=Status.choices, default=Status.QUEUED, protected=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbox")
        permissions = [("resend_outboundemail", "Can resend a failed email")]

    def __str__(self):
        return self.subject

    @property
    def template_label(self) -> str:
        """What kind of email this is, in the reader's language."""
        from ssa_ops.notifications import EMAIL_TEMPLATE_LABELS

        return str(EMAIL_TEMPLATE_LABELS.get(self.template, self.template))

    @transition(status, source=[Status.QUEUED, Status.FAILED], target=Status.SENT)
    def mark_sent(self, *, at):
        self.sent_at = at
        self.last_error = ""

    @transition(status, source=[Status.QUEUED, Status.FAILED], target=Status.FAILED)
    def mark_failed(self, *, error):
        self.last_error = error

    @transition(status, source=Status.FAILED, target=Status.QUEUED)
    def requeue(self):
        pass


class BackgroundJob(ConcurrentTransitionMixin, models.Model):
    """Long work (an import, export or bulk action) run by a worker, with its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        related_name="jobs",
    )
    kind = models.CharField(_("kind"), max_length=50)
    params = models.JSONField(default=dict, blank=True)
    status = FSMField(_("status"), choices=Status.choices, default=Status.QUEUED, protected=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # texts.text_store(...): rendered in the reader's language (see message_display)
    message = models.JSONField(_("message"), default=dict, blank=True)
    input_file = models.FileField(storage=private_storage, upload_to="jobs/in/", blank=True)
    input_name = models.CharField(max_length=255, blank=True)
    result_file = models.FileField(storage=private_storage, upload_to="jobs/out/", blank=True)
    result_name = models.CharField(max_length=255, blank=True)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        permissions = [("view_all_jobs", "Can see every background job")]

    def __str__(self):
        return f"{self.kind} #{self.pk}"

    @property
    def kind_label(self):
        from ssa_ops.jobs import job_kind_label

        return job_kind_label(self.kind)

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(self.progress_done * 100 / self.progress_total))

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def message_display(self) -> str:
        from ssa_ops.texts import text_render

        return text_render(self.message)

    @transition(status, source=Status.QUEUED, target=Status.RUNNING)
    def start(self, *, at):
        self.started_at = at

    @transition(status, source=Status.RUNNING, target=Status.SUCCEEDED)
    def succeed(self, *, at, message=None):
        self.finished_at = at
        self.message = message or {}

    @transition(status, source=[Status.QUEUED, Status.RUNNING], target=Status.FAILED)
    def fail(self, *, at, message=None):
        self.finished_at = at
        self.message = message or {}


class Reason(TimeStampedModel):
    """A coded reason for a reset, reject or check result, shared by every workflow."""

    code = models.CharField(_("code"), max_length=50, unique=True)
    label_zh = models.CharField(_("Chinese label"), max_length=200)
    label_en = models.CharField(_("English label"), max_length=200)
    # The kinds of record it applies to ("app_label.model", see reasons.reason_kinds_register).
    applies_to = models.JSONField(_("applies to"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("reason")
        verbose_name_plural = _("reasons")
        permissions = [("manage_reason", "Can manage the reason catalog")]

    def __str__(self):
        return f"{self.code} {self.label}"

    @property
    def label(self) -> str:
        """The label in the reader's language."""
        from django.utils.translation import get_language

        return self.label_en if get_language() == "en" and self.label_en else self.label_zh


class DecisionLink(ConcurrentTransitionMixin, models.Model):
    """An emailed link with which one person without an account decides one step, once."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        USED = "used", _("Used")
        SUPERSEDED = "superseded", _("Superseded")

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    purpose = models.CharField(_("purpose"), max_length=50)
    # The step it decides (one approver, one step).
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    step = GenericForeignKey("content_type", "object_id")
    approver_name = models.CharField(_("approver"), max_length=100)
    approver_email = models.EmailField(_("approver email"))
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    # SHA-256 of the random part of the token; the token itself is only in the email.
    secret_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField(_("expires at"))
    status = FSMField(
        _("status"), choices=Status.choices, default=Status.ACTIVE, protected=True, db_index=True
    )
    opened_at = models.DateTimeField(_("first opened at"), null=True, blank=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    decision = models.CharField(_("decision"), max_length=20, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        verbose_name = _("decision link")
        verbose_name_plural = _("decision links")

    def __str__(self):
        return f"{self.purpose} #{self.pk} ({self.approver_email})"

    @transition(status, source=Status.ACTIVE, target=Status.USED)
    def use(self, *, at, decision, comment):
        self.used_at, self.decision, self.comment = at, decision, comment

    @transition(status, source=Status.ACTIVE, target=Status.SUPERSEDED)
    def supersede(self):
        pass


class PersonalDataAccessQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The personal data access log is append-only")

    def delete(self):
        raise TypeError("The personal data access log is append-only")


class PersonalDataAccess(models.Model):
    """One look at a person's information in full: who, which record and field, when, from
    where (a page, the API, a document, a subject access export)."""

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    user_name = models.CharField(_("user"), max_length=150)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    record = GenericForeignKey("content_type", "object_id")
    # a field's name, or "document:<purpose>" for a document
    field = models.CharField(_("field"), max_length=100)
    source = models.CharField(_("where from"), max_length=20)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    client_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    # The document looked at; not a foreign key, so the look stays recorded after erasure.
    attachment_id = models.UUIDField(null=True, blank=True)

    objects = PersonalDataAccessQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["content_type", "object_id", "created_at"])]
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data access log")
        permissions = [("view_personal_data", "Can see personal information in full")]

    def __str__(self):
        return f"{self.user_name}: {self.field}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The personal data access log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The personal data access log is append-only")

    @property
    def field_label(self) -> str:
        """The field's name in words (or the document's purpose)."""
        from ssa_ops.personal_data import PERSONAL_DOCUMENT_PURPOSES

        if self.field.startswith("document:"):
            purpose = self.field.partition(":")[2]
            return str(PERSONAL_DOCUMENT_PURPOSES.get(purpose, purpose) or _("document"))
        model = ContentType.objects.get_for_id(self.content_type_id).model_class()
        field = _field_or_none(model, self.field)
        return str(field.verbose_name) if field is not None else self.field

    @property
    def source_label(self) -> str:
        from ssa_ops.personal_data import SOURCE_LABELS

        return str(SOURCE_LABELS.get(self.source, self.source))

    @property
    def record_label(self) -> str:
        """What the record is ("claim #12"), without any of its values."""
        content_type = ContentType.objects.get_for_id(self.content_type_id)
        model = content_type.model_class()
        name = model._meta.verbose_name if model is not None else content_type.model
        return f"{name} #{self.object_id}"


class SavedView(models.Model):
    """A user's named filter of a list ("my resets due this week"): the list's query string,
    so that the view opens exactly as it was saved."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    # Which list: the URL name of its page, e.g. "claims:list".
    list_name = models.CharField(max_length=60)
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "list_name", "name"], name="saved_view_unique")
        ]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")

    def __str__(self):
        return self.name
