"""How the API shows an attachment: what the file was detected as, and its rendition's state.

Apps nest it in their own serializers (`documents = AttachmentSerializer(many=True)`), fed
from `attachments.attachments_for(owner)`, which prefetches the renditions. The endpoints here
serve one attachment, its file and its rendition's pages to whoever may see its owner (404
otherwise), as the HTML views do.
"""

from django.urls import reverse
from drf_spectacular.utils import OpenApiTypes, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ssa_ops.attachments import (
    KIND_LABELS,
    attachment_download_name,
    attachment_file_response,
    attachment_get_for_user,
    attachment_kind,
    attachment_rendition_response,
)
from ssa_ops.models import Attachment


class AttachmentRenditionSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    mime_type = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    url = serializers.SerializerMethodField()

    def get_url(self, rendition) -> str:
        return reverse("api-attachment-page", args=[rendition.attachment_id, rendition.page])


class AttachmentSerializer(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField(help_text="pdf, jpeg, png, heic, tiff or ofd")
    kind_label = serializers.SerializerMethodField()
    download_name = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    rendition = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            "purpose",
            "original_name",
            "download_name",
            "kind",
            "kind_label",
            "mime_type",
            "size",
            "sha256",
            "created_at",
            "download_url",
            "rendition",
        ]
        read_only_fields = fields

    def get_kind(self, attachment) -> str:
        return attachment_kind(attachment)

    def get_kind_label(self, attachment) -> str:
        return KIND_LABELS.get(attachment_kind(attachment), "")

    def get_download_name(self, attachment) -> str:
        return attachment_download_name(attachment)

    def get_download_url(self, attachment) -> str:
        return reverse("api-attachment-file", args=[attachment.pk])

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": list(Attachment.RenditionStatus.values)},
                "error": {"type": "string"},
                "pages": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "page": {"type": "integer"},
                            "mime_type": {"type": "string"},
                            "width": {"type": "integer"},
                            "height": {"type": "integer"},
                            "url": {"type": "string"},
                        },
                    },
                },
                "text": {"type": "array", "items": {"type": "string"}},
            },
        }
    )
    def get_rendition(self, attachment) -> dict:
        """`none`: the browser shows the file itself; `pending`: being made; `ready`: `pages`
        (images) and, for an OFD, `text` (each page's text); `failed`: `error` says why."""
        return {
            "status": attachment.rendition_status,
            "error": attachment.rendition_error,
            "pages": AttachmentRenditionSerializer(attachment.renditions.all(), many=True).data,
            "text": attachment.rendition_text or [],
        }


class AttachmentDetailApi(APIView):
    """One attachment: its detected type and its rendition (poll while `pending`)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=AttachmentSerializer)
    def get(self, request, attachment_id):
        attachment = attachment_get_for_user(user=request.user, attachment_id=attachment_id)
        return Response(AttachmentSerializer(attachment).data)


class AttachmentFileApi(APIView):
    """The original file, named with the extension of its detected type."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, attachment_id):
        attachment = attachment_get_for_user(user=request.user, attachment_id=attachment_id)
        return attachment_file_response(attachment)


class AttachmentPageApi(APIView):
    """One page of the rendition, as JPEG or PNG."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
        }
    )
    def get(self, request, attachment_id, page):
        attachment = attachment_get_for_user(user=request.user, attachment_id=attachment_id)
        return attachment_rendition_response(attachment, page=page)
