from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from dealers import selectors, services
from dealers.models import Dealer, DealerChangeRequest, DealerContact
from ssa_ops.api import JobSerializer, int_param, text_param
from ssa_ops.attachment_api import AttachmentSerializer
from ssa_ops.attachments import EXCEL_KINDS, attachments_for, upload_check
from ssa_ops.audit import audit_events_for
from ssa_ops.jobs import job_start
from ssa_ops.models import AuditEvent
from ssa_ops.permissions import requires


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = DealerContact
        fields = ["id", "role", "name", "phone", "email", "is_primary"]


class DealerSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    group = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Dealer
        fields = [
            "id",
            "code",
            "name_zh",
            "name_en",
            "region",
            "group",
            "status",
            "legal_entity",
            "credit_code",
            "address",
            "updated_at",
        ]


class DealerDetailSerializer(DealerSerializer):
    contacts = ContactSerializer(many=True, read_only=True)

    class Meta(DealerSerializer.Meta):
        fields = [*DealerSerializer.Meta.fields, "contacts"]


class AuditEventSerializer(serializers.ModelSerializer):
    action_label = serializers.CharField(read_only=True)
    reason = serializers.CharField(source="reason_display", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "created_at",
            "actor_name",
            "action",
            "action_label",
            "from_state",
            "to_state",
            "reason",
            "changes",
        ]


class ChangeRequestSerializer(serializers.ModelSerializer):
    dealer_code = serializers.CharField(source="dealer.code", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, default=None)
    number = serializers.CharField(read_only=True)

    class Meta:
        model = DealerChangeRequest
        fields = [
            "id",
            "number",
            "dealer",
            "dealer_code",
            "status",
            "proposed",
            "contact_changes",
            "note",
            "created_by",
            "created_at",
            "submitted_at",
            "decided_by",
            "decided_at",
            "decision_reason",
            "applied_at",
            "apply_error",
            "previous",
        ]


class ChangeRequestDetailSerializer(ChangeRequestSerializer):
    """One request with its documents (detected type, preview status)."""

    documents = serializers.SerializerMethodField()

    class Meta(ChangeRequestSerializer.Meta):
        fields = [*ChangeRequestSerializer.Meta.fields, "documents"]

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_documents(self, change_request):
        return AttachmentSerializer(
            attachments_for(change_request), many=True, context=self.context
        ).data


class DealerListApi(ListAPIView):
    permission_classes = [requires("dealers.view_dealer")]
    serializer_class = DealerSerializer

    @extend_schema(parameters=[selectors.DEALER_SORTING.openapi_parameter()])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        dealers = selectors.dealer_search(
            user=self.request.user,
            query=text_param(self.request, "q", max_length=100),
            status=text_param(self.request, "status", max_length=30),
            region=int_param(self.request, "region", minimum=1),
        )
        return selectors.DEALER_SORTING.apply(dealers, params.get("sort", ""), strict=True)[0]


class DealerDetailApi(APIView):
    permission_classes = [requires("dealers.view_dealer")]

    @extend_schema(responses=DealerDetailSerializer)
    def get(self, request, pk):
        return Response(DealerDetailSerializer(selectors.dealer_get(user=request.user, pk=pk)).data)


class DealerHistoryApi(APIView):
    permission_classes = [requires("dealers.view_dealer")]

    @extend_schema(responses=AuditEventSerializer(many=True))
    def get(self, request, pk):
        dealer = selectors.dealer_get(user=request.user, pk=pk)
        return Response(AuditEventSerializer(audit_events_for(dealer), many=True).data)


class ChangeRequestListApi(ListAPIView):
    """List change requests in scope, or file a new one (a draft) for a dealer in scope."""

    serializer_class = ChangeRequestSerializer

    class ChangeRequestCreateSerializer(serializers.Serializer):
        dealer = serializers.IntegerField()
        values = serializers.DictField(
            help_text="Dealer fields as they should become", required=False, default=dict
        )
        contact_changes = serializers.ListField(
            child=serializers.DictField(), required=False, default=list
        )
        note = serializers.CharField(required=False, allow_blank=True, default="")
        submit = serializers.BooleanField(required=False, default=False)

    def get_permissions(self):
        if self.request.method == "POST":
            return [requires("dealers.add_dealerchangerequest")()]
        return [requires("dealers.view_dealerchangerequest")()]

    @extend_schema(
        parameters=[
            selectors.CHANGE_REQUEST_SORTING.openapi_parameter(),
            OpenApiParameter("q", str, description="Number, dealer code or name"),
            OpenApiParameter("status", str),
            OpenApiParameter("queue", bool, description="Only what ops must still act on"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        queue = params.get("queue", "").lower() in ("1", "true")
        requests = selectors.change_request_search(
            user=self.request.user,
            queue=queue,
            query=text_param(self.request, "q", max_length=100),
            status=text_param(self.request, "status", max_length=30),
            region=int_param(self.request, "region", minimum=1),
        )
        sorting = selectors.CHANGE_QUEUE_SORTING if queue else selectors.CHANGE_REQUEST_SORTING
        return sorting.apply(requests, params.get("sort", ""), strict=True)[0]

    @extend_schema(request=ChangeRequestCreateSerializer, responses={201: ChangeRequestSerializer})
    def post(self, request):
        serializer = self.ChangeRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dealer = selectors.dealer_get(user=request.user, pk=data["dealer"])
        with transaction.atomic():  # a refused submit keeps no draft behind
            change_request = services.change_request_create(
                actor=request.user,
                dealer=dealer,
                values=data["values"],
                contact_changes=data["contact_changes"],
                note=data["note"],
            )
            if data["submit"]:
                change_request = services.change_request_submit(
                    actor=request.user, pk=change_request.pk
                )
        return Response(
            ChangeRequestSerializer(change_request).data, status=status.HTTP_201_CREATED
        )


class ChangeRequestDetailApi(APIView):
    permission_classes = [requires("dealers.view_dealerchangerequest")]

    @extend_schema(responses=ChangeRequestDetailSerializer)
    def get(self, request, pk):
        change_request = selectors.change_request_get(user=request.user, pk=pk)
        return Response(
            ChangeRequestDetailSerializer(change_request, context={"request": request}).data
        )


class DealerImportApi(APIView):
    """Upload a dealer workbook; the import runs as a job (poll /api/v1/jobs/{id}/)."""

    permission_classes = [requires("dealers.import_dealers")]
    parser_classes = [MultiPartParser]

    class DealerImportSerializer(serializers.Serializer):
        file = serializers.FileField()

    @extend_schema(request=DealerImportSerializer, responses={202: JobSerializer})
    def post(self, request):
        serializer = self.DealerImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        upload_check(upload=upload, allowed_kinds=EXCEL_KINDS)
        job = job_start(
            kind="dealer_import",
            actor=request.user,
            input_bytes=upload.read(),
            input_name=upload.name,
        )
        job.refresh_from_db()
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class DealerExportApi(APIView):
    permission_classes = [requires("dealers.export_dealers")]

    @extend_schema(request=None, responses={202: JobSerializer})
    def post(self, request):
        job = job_start(kind="dealer_export", actor=request.user)
        job.refresh_from_db()
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
