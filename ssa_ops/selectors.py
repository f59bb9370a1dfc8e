"""Reads of the shared records that are more than a lookup."""

from django.db.models import Q

from ssa_ops.models import OutboundEmail
from ssa_ops.notifications import EMAIL_TEMPLATE_LABELS
from ssa_ops.sorting import Sorting

OUTBOX_SORTING = Sorting(
    {
        "created": ("created_at",),
        "to": ("to",),
        "subject": ("subject",),
        "template": ("template",),
        "status": ("status",),
        "attempts": ("attempts",),
    },
    default="-created",
)


def outbound_email_list(*, status: str = "", template: str = "", query: str = ""):
    """The outbox, newest first, with the record each email is about; `query` matches the
    recipient or the subject."""
    emails = OutboundEmail.objects.prefetch_related("related_object").order_by("-created_at", "-pk")
    if status in OutboundEmail.Status.values:
        emails = emails.filter(status=status)
    if template:
        emails = emails.filter(template=template)
    if query:
        emails = emails.filter(Q(subject__icontains=query) | Q(to__icontains=query))
    return emails


def email_template_choices() -> list[tuple[str, str]]:
    """The kinds of email, in the reader's language, for the outbox's filter."""
    return sorted(
        ((code, str(label)) for code, label in EMAIL_TEMPLATE_LABELS.items()),
        key=lambda item: item[1],
    )
