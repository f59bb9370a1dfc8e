"""The pre-applications and claims API: lists with the queue's filters, details, drafts,
documents; the transitions come from the workflow kit (api_urls)."""

import datetime
import io

from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from claims import selectors, services
from claims.models import Claim, InvoiceCheckResult, PreApplication, SettlementBatch
from dealers.selectors import dealer_get
from ssa_ops.api import InvalidParameter, int_param, text_param
from ssa_ops.attachment_api import AttachmentSerializer
from ssa_ops.attachments import attachments_for
from ssa_ops.permissions import requires


def _dealer_for(request, dealer_id):
    if dealer_id is None:
        if not request.user.dealer_id:
            raise serializers.ValidationError({"dealer": ["Name the dealer."]})
        dealer_id = request.user.dealer_id
    return dealer_get(user=request.user, pk=dealer_id)


def _permissions(view, *, read, write):
    return [requires(write if view.request.method in ("POST", "PUT") else read)()]


class ValuesSerializer(serializers.Serializer):
    dealer = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, help_text="Default: the caller's dealer"
    )
    values = serializers.DictField(help_text="The record's fields (see the detail)")


class UpdateSerializer(serializers.Serializer):
    values = serializers.DictField()


class RecordDocumentUploadSerializer(serializers.Serializer):
    purpose = serializers.CharField(
        max_length=30, help_text="The document type code of the rule's checklist"
    )
    documents = serializers.ListField(child=serializers.FileField(), min_length=1, max_length=10)


# Pre-applications -----------------------------------------------------------------------------


class PreApplicationSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    dealer_code = serializers.CharField(source="dealer.code", read_only=True)
    program_code = serializers.CharField(source="program.code", read_only=True)
    units = serializers.IntegerField(read_only=True)

    class Meta:
        model = PreApplication
        fields = [
            "id",
            "number",
            "status",
            "dealer",
            "dealer_code",
            "program",
            "program_code",
            "customer_kind",
            "corporate_account",
            "special_application",
            "customer_name",
            "lines",
            "units",
            "delivery_month",
            "created_at",
            "submitted_at",
            "queued_at",
            "decided_at",
            "valid_until",
        ]


class PreApplicationDetailSerializer(PreApplicationSerializer):
    documents = serializers.SerializerMethodField()
    documents_missing = serializers.SerializerMethodField()

    class Meta(PreApplicationSerializer.Meta):
        fields = [*PreApplicationSerializer.Meta.fields, "documents", "documents_missing"]

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_documents(self, record):
        return AttachmentSerializer(attachments_for(record), many=True, context=self.context).data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_documents_missing(self, record):
        return [str(name) for name in selectors.documents_missing(record)]


class PreApplicationPageSerializer(serializers.Serializer):
    results = PreApplicationSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the next page")


class PreApplicationListApi(APIView):
    """Pre-applications in scope, newest first (`queue=true`: those waiting for ops, oldest
    first); POST files a draft."""

    def get_permissions(self):
        return _permissions(
            self, read="claims.view_preapplication", write="claims.add_preapplication"
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str),
            OpenApiParameter("queue", bool, description="Only those waiting for ops"),
            OpenApiParameter("program", int),
            OpenApiParameter("dealer", int),
            OpenApiParameter("region", int),
            OpenApiParameter("cursor", str, description="`next` of the previous page"),
        ],
        responses=PreApplicationPageSerializer,
        operation_id="preapplications_list",
    )
    def get(self, request):
        state = text_param(request, "status", max_length=20)
        if state and state not in PreApplication.Status.values:
            raise InvalidParameter({"status": [", ".join(PreApplication.Status.values)]})
        largest = 2**31 - 1
        if request.GET.get("queue", "").lower() in ("1", "true"):
            records = selectors.preapplication_queue(user=request.user).order_by("queued_at", "pk")
        else:
            records = selectors.preapplication_list(user=request.user).order_by("-pk")
            if state:
                records = records.filter(status=state)
        for name, lookup in (("program", "program_id"), ("dealer", "dealer_id")):
            value = int_param(request, name, minimum=1, maximum=largest)
            if value is not None:
                records = records.filter(**{lookup: value})
        region = int_param(request, "region", minimum=1, maximum=largest)
        if region is not None:
            records = records.filter(dealer__region_id=region)
        rows, last = selectors.keyset_page(records, after=_cursor_decode(request, records))
        return Response(
            {
                "results": PreApplicationSerializer(rows, many=True).data,
                "next": selectors.cursor_encode(last) if last else None,
            }
        )

    @extend_schema(request=ValuesSerializer, responses={201: PreApplicationDetailSerializer})
    def post(self, request):
        body = ValuesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dealer = _dealer_for(request, body.validated_data.get("dealer"))
        record = services.preapplication_create(
            actor=request.user, dealer=dealer, values=body.validated_data["values"]
        )
        return Response(
            PreApplicationDetailSerializer(record, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class PreApplicationDetailApi(APIView):
    """GET one pre-application; PUT its values while it is a draft or reset to the dealer."""

    def get_permissions(self):
        return _permissions(
            self, read="claims.view_preapplication", write="claims.change_preapplication"
        )

    @extend_schema(responses=PreApplicationDetailSerializer)
    def get(self, request, pk):
        record = selectors.preapplication_get(user=request.user, pk=pk)
        return Response(PreApplicationDetailSerializer(record, context={"request": request}).data)

    @extend_schema(request=UpdateSerializer, responses=PreApplicationDetailSerializer)
    def put(self, request, pk):
        record = selectors.preapplication_get(user=request.user, pk=pk)
        body = UpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        record = services.preapplication_update(
            actor=request.user, pk=record.pk, values=body.validated_data["values"]
        )
        return Response(PreApplicationDetailSerializer(record, context={"request": request}).data)


# Claims -------------------------------------------------------------------------------------------


class ClaimSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    dealer_code = serializers.CharField(source="dealer.code", read_only=True)
    program_code = serializers.CharField(source="program.code", read_only=True)
    vehicle_model = serializers.CharField(source="vehicle_model.code", read_only=True)
    buyer_id_number = serializers.CharField(read_only=True, help_text="Masked")
    assigned_to = serializers.CharField(source="assigned_to.username", default=None)

    class Meta:
        model = Claim
        fields = [
            "id",
            "number",
            "status",
            "dealer",
            "dealer_code",
            "program",
            "program_code",
            "pre_application",
            "customer_kind",
            "corporate_account",
            "special_application",
            "vin",
            "vehicle_model",
            "invoice_number",
            "invoice_date",
            "invoice_amount",
            "buyer_name",
            "buyer_id_number",
            "buyer_credit_code",
            "delivery_date",
            "support_amount",
            "duplicate_invoice",
            "duplicate_document",
            "invoice_check",
            "assigned_to",
            "created_at",
            "submitted_at",
            "queued_at",
            "decided_at",
        ]


class DuplicatesSerializer(serializers.Serializer):
    visible = serializers.ListField(child=serializers.CharField(), help_text="Claim numbers")
    elsewhere = serializers.IntegerField(help_text="Claims of other dealers")


class InvoiceFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    claim = serializers.CharField(allow_null=True, help_text="The claim's value (IDs masked)")
    invoice = serializers.CharField(allow_null=True, help_text="What was read (IDs masked)")
    result = serializers.CharField(
        help_text="match | probable | mismatch | not_found, after ops' review; empty when the "
        "field is read but not compared"
    )
    machine_result = serializers.CharField(help_text="The comparison before ops' review")
    confidence = serializers.IntegerField()
    valid = serializers.BooleanField(allow_null=True, help_text="False: a check on it failed")
    review = serializers.DictField(allow_null=True)


class InvoiceCheckSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="pending | read | unreadable")
    result = serializers.CharField(
        help_text="pending | pass | needs_review | mismatch | unreadable"
    )
    error = serializers.CharField(allow_null=True)
    engine = serializers.CharField()
    seconds = serializers.FloatField(allow_null=True)
    type = serializers.CharField()
    fields = serializers.DictField(help_text="The `ocr_invoice --json` fields (IDs masked)")
    confidence = serializers.DictField()
    checks = serializers.DictField()
    comparison = InvoiceFieldSerializer(many=True)
    read_at = serializers.DateTimeField(allow_null=True)


class ClaimDocumentSerializer(AttachmentSerializer):
    invoice_check = InvoiceCheckSerializer(allow_null=True, read_only=True)

    class Meta(AttachmentSerializer.Meta):
        fields = [*AttachmentSerializer.Meta.fields, "invoice_check"]


def invoice_check_json(check) -> dict:
    """An invoice check as the API shows it (from selectors.invoice_checks_for)."""
    from claims.invoice_reader.fields import FIELD_NAMES

    read = (check.reading or {}).get("fields") or {}
    return {
        "id": check.pk,
        "status": check.status,
        "result": check.result,
        "error": check.error or None,
        "engine": check.engine,
        "seconds": float(check.seconds) if check.seconds is not None else None,
        "type": check.invoice_type,
        "fields": {name: (read.get(name) or {}).get("value") for name in FIELD_NAMES},
        "confidence": {name: (read.get(name) or {}).get("confidence", 0) for name in FIELD_NAMES},
        "checks": (check.reading or {}).get("checks") or {},
        "comparison": [
            {
                key: row[key]
                for key in (
                    "name",
                    "claim",
                    "invoice",
                    "result",
                    "machine_result",
                    "confidence",
                    "valid",
                    "review",
                )
            }
            for row in check.rows
        ],
        "read_at": check.read_at,
    }


class ClaimDetailSerializer(ClaimSerializer):
    documents = serializers.SerializerMethodField()
    documents_missing = serializers.SerializerMethodField()
    submit_deadline = serializers.DateField(read_only=True)
    duplicates = serializers.SerializerMethodField()

    class Meta(ClaimSerializer.Meta):
        fields = [
            *ClaimSerializer.Meta.fields,
            "submit_deadline",
            "documents",
            "documents_missing",
            "duplicates",
        ]

    @extend_schema_field(ClaimDocumentSerializer(many=True))
    def get_documents(self, claim):
        documents = AttachmentSerializer(
            attachments_for(claim), many=True, context=self.context
        ).data
        checks = {str(check.attachment_id): check for check in selectors.invoice_checks_for(claim)}
        for document in documents:
            check = checks.get(str(document["id"]))
            document["invoice_check"] = invoice_check_json(check) if check else None
        return documents

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_documents_missing(self, claim):
        return [str(name) for name in selectors.documents_missing(claim)]

    @extend_schema_field(serializers.DictField(child=DuplicatesSerializer()))
    def get_duplicates(self, claim):
        request = self.context.get("request")
        if request is None:
            return {}
        return selectors.claim_duplicates(claim=claim, user=request.user)


def _invoice_check_param(request) -> str:
    value = text_param(request, "invoice_check", max_length=20)
    if value and value not in InvoiceCheckResult.values:
        raise InvalidParameter({"invoice_check": [", ".join(InvoiceCheckResult.values)]})
    return value


class ClaimPageSerializer(serializers.Serializer):
    results = ClaimSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the next page")


def _cursor_decode(request, queryset) -> tuple | None:
    """The `cursor` parameter as sort values; a cursor that is not one of ours is a 400."""
    raw = text_param(request, "cursor", max_length=500)
    if not raw:
        return None
    try:
        return selectors.cursor_decode(raw, queryset)
    except ValueError:
        raise InvalidParameter(
            {"cursor": [_("Pass the `next` value of the previous page.")]}
        ) from None


class ClaimListApi(APIView):
    """Claims in scope with the queue's filters, in pages read by cursor (no total count); by
    default what waits for ops, oldest first. POST files a draft (the support amount comes
    from the rule in force on the invoice date)."""

    def get_permissions(self):
        return _permissions(self, read="claims.view_claim", write="claims.add_claim")

    @extend_schema(
        parameters=[
            selectors.CLAIM_SORTING.openapi_parameter(),
            OpenApiParameter("status", str, description="One state; default: the open queue"),
            OpenApiParameter("program", int),
            OpenApiParameter("dealer", int),
            OpenApiParameter("region", int),
            OpenApiParameter("older_than_days", int, description="Waiting longer than"),
            OpenApiParameter("mine", bool, description="Assigned to me"),
            OpenApiParameter("flagged", bool, description="With a duplicate flag"),
            OpenApiParameter(
                "invoice_check",
                str,
                enum=InvoiceCheckResult.values,
                description="The invoice check's result, e.g. mismatch or needs_review",
            ),
            OpenApiParameter(
                "q", str, description="Exact claim number, VIN or invoice number (any state)"
            ),
            OpenApiParameter("cursor", str, description="`next` of the previous page"),
        ],
        responses=ClaimPageSerializer,
        operation_id="claims_list",
    )
    def get(self, request):
        state = text_param(request, "status", max_length=20)
        if state and state not in Claim.Status.values:
            raise InvalidParameter({"status": [", ".join(Claim.Status.values)]})
        largest = 2**31 - 1
        filters = selectors.QueueFilters(
            status=state,
            program=int_param(request, "program", minimum=1, maximum=largest),
            dealer=int_param(request, "dealer", minimum=1, maximum=largest),
            region=int_param(request, "region", minimum=1, maximum=largest),
            older_than_days=int_param(request, "older_than_days", minimum=1, maximum=3650),
            assigned_to_me=request.GET.get("mine", "").lower() in ("1", "true"),
            flagged=request.GET.get("flagged", "").lower() in ("1", "true"),
            invoice_check=_invoice_check_param(request),
            query=text_param(request, "q", max_length=30),
        )
        sort = text_param(request, "sort", max_length=30)
        selectors.CLAIM_SORTING.key_for(sort, strict=True)
        if sort.lstrip("-") == "waiting" and state in ("draft", *Claim.CLOSED_STATES):
            sort = "-number" if sort.startswith("-") else "number"
        claims = selectors.claim_queue(user=request.user, filters=filters, sort=sort)
        rows, last = selectors.keyset_page(claims, after=_cursor_decode(request, claims))
        return Response(
            {
                "results": ClaimSerializer(rows, many=True).data,
                "next": selectors.cursor_encode(last) if last else None,
            }
        )

    @extend_schema(request=ValuesSerializer, responses={201: ClaimDetailSerializer})
    def post(self, request):
        body = ValuesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dealer = _dealer_for(request, body.validated_data.get("dealer"))
        claim = services.claim_create(
            actor=request.user, dealer=dealer, values=body.validated_data["values"]
        )
        return Response(
            ClaimDetailSerializer(claim, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class ClaimDetailApi(APIView):
    """GET one claim (documents, what is missing, duplicate flags as the caller may see
    them); PUT its values while it is a draft or reset to the dealer."""

    def get_permissions(self):
        return _permissions(self, read="claims.view_claim", write="claims.change_claim")

    @extend_schema(responses=ClaimDetailSerializer)
    def get(self, request, pk):
        claim = selectors.claim_get(user=request.user, pk=pk)
        return Response(ClaimDetailSerializer(claim, context={"request": request}).data)

    @extend_schema(request=UpdateSerializer, responses=ClaimDetailSerializer)
    def put(self, request, pk):
        claim = selectors.claim_get(user=request.user, pk=pk)
        body = UpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        claim = services.claim_update(
            actor=request.user, pk=claim.pk, values=body.validated_data["values"]
        )
        return Response(ClaimDetailSerializer(claim, context={"request": request}).data)


class ClaimTakeNextApi(APIView):
    """POST picks up the claim that has waited longest which the caller may decide; 404
    `queue_empty` when there is none."""

    permission_classes = [requires("claims.decide_claim")]

    @extend_schema(request=None, responses=ClaimDetailSerializer, operation_id="claims_take_next")
    def post(self, request):
        claim = services.claim_take_next(actor=request.user)
        if claim is None:
            return Response(
                {"code": "queue_empty", "detail": _("No claim is waiting.")},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(ClaimDetailSerializer(claim, context={"request": request}).data)


def _documents_api(name, *, permission, get, add, serializer):
    class DocumentsApi(APIView):
        permission_classes = [requires(permission)]
        parser_classes = [MultiPartParser]

        @extend_schema(
            request=RecordDocumentUploadSerializer,
            responses=serializer,
            operation_id=f"{name}_documents_add",
        )
        def post(self, request, pk):
            record = get(user=request.user, pk=pk)
            body = RecordDocumentUploadSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            add(
                actor=request.user,
                pk=record.pk,
                purpose=body.validated_data["purpose"],
                documents=body.validated_data["documents"],
            )
            record = get(user=request.user, pk=pk)
            return Response(serializer(record, context={"request": request}).data)

    DocumentsApi.__name__ = DocumentsApi.__qualname__ = f"{name.title()}DocumentsApi"
    DocumentsApi.__doc__ = (
        "Attach files for one document of the checklist (multipart `purpose` and `documents`) "
        "while the record is a draft or reset to the dealer."
    )
    return DocumentsApi


PreApplicationDocumentsApi = _documents_api(
    "preapplication",
    permission="claims.change_preapplication",
    get=selectors.preapplication_get,
    add=services.preapplication_documents_add,
    serializer=PreApplicationDetailSerializer,
)
ClaimDocumentsApi = _documents_api(
    "claim",
    permission="claims.change_claim",
    get=selectors.claim_get,
    add=services.claim_documents_add,
    serializer=ClaimDetailSerializer,
)


class BulkDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reset", "reject"])
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        min_length=1,
        max_length=50_000,
    )
    reasons = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, default=list, max_length=20
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    preview = serializers.BooleanField(
        required=False, default=False, help_text="Only say what would be decided and skipped"
    )


class BulkPreviewGroupSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    count = serializers.IntegerField()
    records = serializers.ListField(child=serializers.CharField(), help_text="The first ten")


class BulkPreviewSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    decide = serializers.IntegerField()
    skipped = BulkPreviewGroupSerializer(many=True)


class BulkSkippedSerializer(serializers.Serializer):
    record = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    decided = serializers.ListField(child=serializers.CharField(), required=False)
    skipped = BulkSkippedSerializer(many=True, required=False)
    job = serializers.IntegerField(required=False, help_text="Over 200 claims: the job's id")


class ClaimBulkDecideApi(APIView):
    """POST decides the selected claims (approve, or reset/reject with coded reasons) through
    the same service as one decision, each under its own lock; a claim that changed meanwhile
    is skipped with why. Up to 200 claims answer at once; more start a job (202)."""

    permission_classes = [requires("claims.decide_claim")]

    @extend_schema(
        request=BulkDecisionSerializer,
        responses={
            200: PolymorphicProxySerializer(
                "BulkDecisionAnswer",
                [BulkResultSerializer, BulkPreviewSerializer],
                resource_type_field_name=None,
            ),
            202: BulkResultSerializer,
        },
        operation_id="claims_bulk_decide",
    )
    def post(self, request):
        from ssa_ops.texts import text_render

        body = BulkDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["preview"]:
            ids = services.claims_bulk_scope(actor=request.user, claim_ids=data["ids"])
            preview = services.claims_bulk_preview(
                actor=request.user,
                claim_ids=ids,
                decision=data["decision"],
                reasons=data["reasons"],
                reason=data["comment"],
            )
            for group in preview["skipped"]:
                group["message"] = text_render(group["message"])
            return Response(preview)
        decided, skipped, job = services.claims_bulk_start(
            actor=request.user,
            claim_ids=data["ids"],
            decision=data["decision"],
            reasons=data["reasons"],
            reason=data["comment"],
        )
        if job is not None:
            return Response({"job": job.pk}, status=status.HTTP_202_ACCEPTED)
        return Response(
            {
                "decided": list(decided),
                "skipped": [{**row, "message": text_render(row["message"])} for row in skipped],
            }
        )


# The invoice check -------------------------------------------------------------------------------


class InvoiceReviewSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=list(selectors.INVOICE_FIELD_LABELS))
    action = serializers.ChoiceField(choices=["accept", "override"])
    value = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200, help_text="For override"
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="Required to override",
    )


def _claim_with_check(request, pk, check_id):
    check = selectors.invoice_check_get(user=request.user, claim_pk=pk, pk=check_id)
    return selectors.claim_get(user=request.user, pk=check.claim_id)


class InvoiceCheckReviewApi(APIView):
    """POST ops' word on one compared field: accept it, or override what was read with what
    the invoice says (a reason required). Audited on the claim; answers the claim."""

    permission_classes = [requires("claims.decide_claim")]

    @extend_schema(request=InvoiceReviewSerializer, responses=ClaimDetailSerializer)
    def post(self, request, pk, check_id):
        selectors.invoice_check_get(user=request.user, claim_pk=pk, pk=check_id)
        body = InvoiceReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.invoice_check_review(actor=request.user, pk=check_id, **body.validated_data)
        claim = _claim_with_check(request, pk, check_id)
        return Response(ClaimDetailSerializer(claim, context={"request": request}).data)


class InvoiceCheckRerunApi(APIView):
    """POST reads the invoice document again (202): the new reading replaces the old one and
    its reviews."""

    permission_classes = [requires("claims.decide_claim")]

    @extend_schema(request=None, responses={202: ClaimDetailSerializer})
    def post(self, request, pk, check_id):
        selectors.invoice_check_get(user=request.user, claim_pk=pk, pk=check_id)
        services.invoice_check_rerun(actor=request.user, pk=check_id)
        claim = _claim_with_check(request, pk, check_id)
        return Response(
            ClaimDetailSerializer(claim, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED,
        )


# Settlement -------------------------------------------------------------------------------------


class SettlementSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    dealer_code = serializers.CharField(source="dealer.code", read_only=True)

    class Meta:
        model = SettlementBatch
        fields = [
            "id",
            "number",
            "dealer",
            "dealer_code",
            "month",
            "claim_count",
            "total_support",
            "created_at",
        ]


class SettlementRunSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="Any day of the month to settle (one that has ended)")


class SettlementJobSerializer(serializers.Serializer):
    job = serializers.IntegerField(help_text="The settlement job's id")


class SettlementListApi(APIView):
    """Settlement batches in scope, newest month first; POST settles an ended month (ops
    leads): one batch per dealer with approved claims."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [requires("claims.settle_claims")()]
        return [requires("claims.view_claim")()]

    @extend_schema(
        parameters=[OpenApiParameter("month", str, description="YYYY-MM")],
        responses=SettlementSerializer(many=True),
        operation_id="settlements_list",
    )
    def get(self, request):
        batches = selectors.settlement_list(user=request.user)
        month = text_param(request, "month", max_length=7)
        if month:
            try:
                start = datetime.date.fromisoformat(month + "-01")
            except ValueError:
                raise InvalidParameter({"month": ["YYYY-MM"]}) from None
            batches = batches.filter(month=start)
        return Response(SettlementSerializer(batches[:500], many=True).data)

    @extend_schema(request=SettlementRunSerializer, responses={202: SettlementJobSerializer})
    def post(self, request):
        """Starts the settlement as a job (202): GET /api/v1/jobs/{job}/ follows its progress;
        its result is the month's summary workbook."""
        body = SettlementRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = services.settlement_start(actor=request.user, month=body.validated_data["month"])
        return Response({"job": job.pk}, status=status.HTTP_202_ACCEPTED)


class SettlementStatementApi(APIView):
    """The batch's statement as an Excel workbook, in the caller's language."""

    permission_classes = [requires("claims.view_claim")]

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, pk):
        batch = selectors.settlement_list(user=request.user).filter(pk=pk).first()
        if batch is None:
            raise Http404
        return FileResponse(
            io.BytesIO(services.settlement_statement(batch)),
            as_attachment=True,
            filename=f"{batch.number}.xlsx",
        )
