"""What a template needs to show an attachment: its detected kind and the name it downloads as."""

from django import template

from ssa_ops.attachments import KIND_LABELS, attachment_download_name
from ssa_ops.attachments import attachment_kind as kind_of

register = template.Library()


@register.filter
def attachment_kind(attachment) -> str:
    return kind_of(attachment)


@register.filter
def attachment_kind_label(attachment) -> str:
    return KIND_LABELS.get(kind_of(attachment), "")


@register.filter
def attachment_name(attachment) -> str:
    return attachment_download_name(attachment)
