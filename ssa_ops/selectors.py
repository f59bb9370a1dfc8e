"""Reads of the shared records that are more than a lookup."""

from ssa_ops.models import OutboundEmail


def outbound_email_list(*, status: str = ""):
    """The outbox, newest first, with the record each email is about."""
    emails = OutboundEmail.objects.prefetch_related("related_object").order_by("-created_at", "-pk")
    if status in OutboundEmail.Status.values:
        emails = emails.filter(status=status)
    return emails
