import datetime

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from dealers.selectors import dealer_get
from programs import selectors, services
from programs.models import (
    ApprovalStep,
    CorporateAccount,
    Program,
    ProgramRule,
    Qualification,
    SpecialApplication,
    VehicleModel,
)
from ssa_ops.api import InvalidParameter, int_param, text_param
from ssa_ops.attachment_api import AttachmentSerializer
from ssa_ops.attachments import attachments_for
from ssa_ops.audit import audit_events_for
from ssa_ops.models import AuditEvent
from ssa_ops.permissions import requires


def _documents(owner, context):
    return AttachmentSerializer(attachments_for(owner), many=True, context=context).data


class EventSerializer(serializers.ModelSerializer):
    """One timeline entry: who, when, what, from which state to which, why (coded reasons as
    codes and as words in the reader's language, and the comment)."""

    action_label = serializers.CharField(read_only=True)
    reason = serializers.CharField(source="reason_display", read_only=True)
    reason_labels = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "created_at",
            "actor_name",
            "action",
            "action_label",
            "from_state",
            "to_state",
            "reason_codes",
            "reason_labels",
            "reason",
            "changes",
        ]


def _history_api(name, *, permission, get, events=audit_events_for):
    class HistoryApi(APIView):
        permission_classes = [requires(permission)]

        @extend_schema(responses=EventSerializer(many=True), operation_id=f"{name}_history")
        def get(self, request, pk):
            record = get(user=request.user, pk=pk)
            return Response(EventSerializer(events(record), many=True).data)

    HistoryApi.__name__ = HistoryApi.__qualname__ = f"{name.title()}HistoryApi"
    HistoryApi.__doc__ = "The record's timeline, newest first."
    return HistoryApi


# Programs and rules -----------------------------------------------------------------------------


class RuleSerializer(serializers.ModelSerializer):
    program = serializers.CharField(source="program.code", read_only=True)

    class Meta:
        model = ProgramRule
        fields = [
            "id",
            "program",
            "version",
            "valid_from",
            "eligible_models",
            "max_units_per_customer",
            "period_days",
            "pre_application_required",
            "claim_window_days",
            "required_documents",
            "approver_chain",
            "qualification_required",
            "entitlement_units",
            "validity_days",
            "note",
            "created_at",
        ]


class ProgramSerializer(serializers.ModelSerializer):
    checking_vendor = serializers.CharField(
        source="checking_vendor.name", read_only=True, default=None
    )

    class Meta:
        model = Program
        fields = ["id", "code", "type", "name_zh", "name_en", "is_active", "checking_vendor"]


class ProgramDetailSerializer(ProgramSerializer):
    rules = serializers.SerializerMethodField()

    class Meta(ProgramSerializer.Meta):
        fields = [*ProgramSerializer.Meta.fields, "rules"]

    @extend_schema_field(RuleSerializer(many=True))
    def get_rules(self, program):
        return RuleSerializer(selectors.program_rules(program=program), many=True).data


class ProgramCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=30)
    type = serializers.ChoiceField(choices=Program.Type.choices)
    name_zh = serializers.CharField(max_length=200)
    name_en = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ProgramListApi(ListAPIView):
    """Programs; POST adds one (ops leads), which takes records once it has a rule version."""

    serializer_class = ProgramSerializer

    def get_permissions(self):
        if self.request.method == "POST":
            return [requires("programs.add_program")()]
        return [requires("programs.view_program")()]

    @extend_schema(request=ProgramCreateSerializer, responses={201: ProgramSerializer})
    def post(self, request):
        body = ProgramCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        program = services.program_create(actor=request.user, **body.validated_data)
        return Response(ProgramSerializer(program).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[selectors.PROGRAM_SORTING.openapi_parameter(), OpenApiParameter("type", str)]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        programs = selectors.program_list(user=self.request.user)
        kind = text_param(self.request, "type", max_length=20)
        if kind:
            programs = programs.filter(type=kind)
        return selectors.PROGRAM_SORTING.apply(
            programs, self.request.query_params.get("sort", ""), strict=True
        )[0]


class ProgramDetailApi(APIView):
    permission_classes = [requires("programs.view_program")]

    @extend_schema(responses=ProgramDetailSerializer)
    def get(self, request, pk):
        return Response(
            ProgramDetailSerializer(selectors.program_get(user=request.user, pk=pk)).data
        )


class RuleCreateSerializer(serializers.Serializer):
    valid_from = serializers.DateField()
    values = serializers.DictField(help_text="The rule's values (see ProgramRule)")


class ProgramRuleApi(APIView):
    """GET: the rule in force on a date (`?on=YYYY-MM-DD`, default today). POST: a new version."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [requires("programs.add_programrule")()]
        return [requires("programs.view_program")()]

    @extend_schema(
        parameters=[OpenApiParameter("on", datetime.date, description="Date (default today)")],
        responses=RuleSerializer,
    )
    def get(self, request, pk):
        program = selectors.program_get(user=request.user, pk=pk)
        on = text_param(request, "on", max_length=10)
        try:
            on_date = datetime.date.fromisoformat(on) if on else datetime.date.today()
        except ValueError:
            raise InvalidParameter({"on": ["Enter a date as YYYY-MM-DD."]}) from None
        rule = selectors.program_rule_on(program_id=program.pk, on_date=on_date)
        if rule is None:
            return Response(
                {"code": "no_rule_in_force", "detail": "No rule in force on that date."},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(RuleSerializer(rule).data)

    @extend_schema(request=RuleCreateSerializer, responses={201: RuleSerializer})
    def post(self, request, pk):
        program = selectors.program_get(user=request.user, pk=pk)
        body = RuleCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = services.program_rule_revise(
            actor=request.user,
            program_id=program.pk,
            valid_from=body.validated_data["valid_from"],
            values=body.validated_data["values"],
        )
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class VehicleModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = VehicleModel
        fields = ["id", "code", "series", "name_zh", "name_en", "msrp", "is_active"]


class VehicleModelListApi(ListAPIView):
    """The vehicle model catalog (MSRP in CNY)."""

    permission_classes = [requires("programs.view_vehiclemodel")]
    serializer_class = VehicleModelSerializer

    def get_queryset(self):
        return VehicleModel.objects.order_by("series", "code", "pk")


# Corporate accounts -----------------------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    dealer_code = serializers.CharField(source="dealer.code", read_only=True)

    class Meta:
        model = CorporateAccount
        fields = [
            "id",
            "number",
            "dealer",
            "dealer_code",
            "status",
            "company_name",
            "credit_code",
            "industry",
            "province",
            "city",
            "fleet_size",
            "contact_name",
            "contact_phone",
            "contact_email",
            "created_at",
            "submitted_at",
            "decided_at",
        ]


class AccountDetailSerializer(AccountSerializer):
    documents = serializers.SerializerMethodField()

    class Meta(AccountSerializer.Meta):
        fields = [*AccountSerializer.Meta.fields, "documents"]

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_documents(self, account):
        return _documents(account, self.context)


class AccountCreateSerializer(serializers.Serializer):
    dealer = serializers.IntegerField(required=False, help_text="Default: the caller's dealer")
    values = serializers.DictField(help_text="company_name, credit_code, industry, ...")
    submit = serializers.BooleanField(required=False, default=False)


def _dealer_for(request, dealer_id):
    if dealer_id is None:
        if not request.user.dealer_id:
            raise serializers.ValidationError({"dealer": ["Name the dealer."]})
        dealer_id = request.user.dealer_id
    return dealer_get(user=request.user, pk=dealer_id)


class AccountListApi(ListAPIView):
    """Corporate accounts in scope; POST registers one (a draft, or submitted with `submit`)."""

    serializer_class = AccountSerializer

    def get_permissions(self):
        if self.request.method == "POST":
            return [requires("programs.add_corporateaccount")()]
        return [requires("programs.view_corporateaccount")()]

    @extend_schema(
        parameters=[
            selectors.ACCOUNT_SORTING.openapi_parameter(),
            OpenApiParameter("q", str, description="Number, company, credit code or dealer"),
            OpenApiParameter("status", str),
            OpenApiParameter("queue", bool, description="Only submitted accounts"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        accounts = selectors.corporate_account_search(
            user=self.request.user,
            queue=params.get("queue", "").lower() in ("1", "true"),
            query=text_param(self.request, "q", max_length=100),
            status=text_param(self.request, "status", max_length=20),
        )
        return selectors.ACCOUNT_SORTING.apply(accounts, params.get("sort", ""), strict=True)[0]

    @extend_schema(request=AccountCreateSerializer, responses={201: AccountSerializer})
    def post(self, request):
        body = AccountCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        dealer = _dealer_for(request, data.get("dealer"))
        with transaction.atomic():  # a refused submit keeps no draft behind
            account = services.corporate_account_create(
                actor=request.user, dealer=dealer, values=data["values"]
            )
            if data["submit"]:
                account = services.corporate_account_submit(actor=request.user, pk=account.pk)
        return Response(AccountSerializer(account).data, status=status.HTTP_201_CREATED)


class AccountUpdateSerializer(serializers.Serializer):
    values = serializers.DictField()


class AccountDetailApi(APIView):
    """GET one account; PUT its values while it is a draft or reset to the dealer."""

    def get_permissions(self):
        if self.request.method == "PUT":
            return [requires("programs.change_corporateaccount")()]
        return [requires("programs.view_corporateaccount")()]

    @extend_schema(responses=AccountDetailSerializer)
    def get(self, request, pk):
        account = selectors.corporate_account_get(user=request.user, pk=pk)
        return Response(AccountDetailSerializer(account, context={"request": request}).data)

    @extend_schema(request=AccountUpdateSerializer, responses=AccountDetailSerializer)
    def put(self, request, pk):
        account = selectors.corporate_account_get(user=request.user, pk=pk)
        body = AccountUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account = services.corporate_account_update(
            actor=request.user, pk=account.pk, values=body.validated_data["values"]
        )
        return Response(AccountDetailSerializer(account, context={"request": request}).data)


class DocumentUploadSerializer(serializers.Serializer):
    documents = serializers.ListField(child=serializers.FileField(), min_length=1, max_length=10)


def _documents_api(name, *, permission, get, add, detail_serializer):
    class DocumentsApi(APIView):
        permission_classes = [requires(permission)]
        parser_classes = [MultiPartParser]

        @extend_schema(
            request=DocumentUploadSerializer,
            responses=detail_serializer,
            operation_id=f"{name}_documents_add",
        )
        def post(self, request, pk):
            record = get(user=request.user, pk=pk)
            body = DocumentUploadSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            add(actor=request.user, pk=record.pk, documents=body.validated_data["documents"])
            record = get(user=request.user, pk=pk)
            return Response(detail_serializer(record, context={"request": request}).data)

    DocumentsApi.__name__ = DocumentsApi.__qualname__ = f"{name.title()}DocumentsApi"
    DocumentsApi.__doc__ = "Attach documents (multipart `documents`) while the record is editable."
    return DocumentsApi


# Applications -----------------------------------------------------------------------------------


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApprovalStep
        fields = [
            "id",
            "position",
            "role",
            "approver_name",
            "approver_email",
            "status",
            "sent_at",
            "reminded_at",
            "decided_at",
            "comment",
        ]


class ApplicationSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    program_code = serializers.CharField(source="program.code", read_only=True)
    rule_version = serializers.IntegerField(source="rule.version", read_only=True)
    dealer_code = serializers.CharField(source="dealer.code", read_only=True)
    vehicle_model_code = serializers.CharField(source="vehicle_model.code", read_only=True)
    id_number = serializers.SerializerMethodField()
    support_amount = serializers.SerializerMethodField()

    class Meta:
        model = SpecialApplication
        fields = [
            "id",
            "number",
            "ssa_number",
            "program",
            "program_code",
            "rule_version",
            "applied_on",
            "status",
            "applicant_name",
            "id_number",
            "company_entity",
            "relation",
            "organisation",
            "title",
            "media_outlet",
            "press_card_number",
            "vehicle_model",
            "vehicle_model_code",
            "support_amount",
            "dealer",
            "dealer_code",
            "submitted_at",
            "decided_at",
            "valid_from",
            "valid_until",
            "entitlement_units",
            "units_used",
        ]

    def get_id_number(self, application) -> str:
        return str(application.id_number)  # masked: seen in full only through personal-data/

    def get_support_amount(self, application) -> str | None:
        amount = application.rule.support_amount(application.vehicle_model.code)
        return None if amount is None else str(amount)


class ApplicationDetailSerializer(ApplicationSerializer):
    steps = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField()

    class Meta(ApplicationSerializer.Meta):
        fields = [*ApplicationSerializer.Meta.fields, "steps", "documents"]

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, application):
        return StepSerializer(selectors.application_steps(application), many=True).data

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_documents(self, application):
        return _documents(application, self.context)


class ApplicationCreateSerializer(serializers.Serializer):
    program = serializers.IntegerField()
    dealer = serializers.IntegerField()
    vehicle_model = serializers.CharField(max_length=30, help_text="Vehicle model code")
    values = serializers.DictField(help_text="applicant_name, id_number and the type's fields")
    submit = serializers.BooleanField(required=False, default=False)


class ApplicationListApi(ListAPIView):
    """Applications in scope; POST records one (ops), sent for signing with `submit`."""

    serializer_class = ApplicationSerializer

    def get_permissions(self):
        if self.request.method == "POST":
            return [requires("programs.add_specialapplication")()]
        return [requires("programs.view_specialapplication")()]

    @extend_schema(
        parameters=[
            selectors.APPLICATION_SORTING.openapi_parameter(),
            OpenApiParameter("q", str, description="Number, SSA number, applicant or ID number"),
            OpenApiParameter("status", str),
            OpenApiParameter("program", int),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        applications = selectors.special_application_search(
            user=self.request.user,
            query=text_param(self.request, "q", max_length=100),
            status=text_param(self.request, "status", max_length=20),
            program=int_param(self.request, "program", minimum=1),
        )
        return selectors.APPLICATION_SORTING.apply(
            applications, params.get("sort", ""), strict=True
        )[0]

    @extend_schema(request=ApplicationCreateSerializer, responses={201: ApplicationSerializer})
    def post(self, request):
        body = ApplicationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        program = selectors.program_get(user=request.user, pk=data["program"])
        dealer = dealer_get(user=request.user, pk=data["dealer"])
        vehicle_model = VehicleModel.objects.filter(code=data["vehicle_model"]).first()
        if vehicle_model is None:
            raise serializers.ValidationError({"vehicle_model": ["Unknown vehicle model."]})
        with transaction.atomic():  # a refused submit keeps no draft behind
            application = services.application_create(
                actor=request.user,
                program=program,
                dealer=dealer,
                vehicle_model=vehicle_model,
                values=data["values"],
            )
            if data["submit"]:
                application = services.application_submit(actor=request.user, pk=application.pk)
        return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


class ApplicationDetailApi(APIView):
    permission_classes = [requires("programs.view_specialapplication")]

    @extend_schema(responses=ApplicationDetailSerializer)
    def get(self, request, pk):
        application = selectors.special_application_get(user=request.user, pk=pk)
        return Response(ApplicationDetailSerializer(application, context={"request": request}).data)


class ReassignSerializer(serializers.Serializer):
    approver_name = serializers.CharField(max_length=100)
    approver_email = serializers.EmailField()


class StepResendApi(APIView):
    """Email the current approver a new link (the old one stops working)."""

    permission_classes = [requires("programs.change_specialapplication")]

    @extend_schema(request=None, responses=StepSerializer)
    def post(self, request, pk, step_pk):
        application = selectors.special_application_get(user=request.user, pk=pk)
        step = services.approval_step_resend(
            actor=request.user, application_pk=application.pk, step_pk=step_pk
        )
        return Response(StepSerializer(step).data)


class StepReassignApi(APIView):
    """Send the current step to another approver (the old link stops working)."""

    permission_classes = [requires("programs.change_specialapplication")]

    @extend_schema(request=ReassignSerializer, responses=StepSerializer)
    def post(self, request, pk, step_pk):
        application = selectors.special_application_get(user=request.user, pk=pk)
        body = ReassignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        step = services.approval_step_reassign(
            actor=request.user,
            application_pk=application.pk,
            step_pk=step_pk,
            **body.validated_data,
        )
        return Response(StepSerializer(step).data)


# Qualifications ---------------------------------------------------------------------------------


class QualificationSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    program_code = serializers.CharField(source="program.code", read_only=True)
    dealer_code = serializers.CharField(source="dealer.code", read_only=True)
    vendor_name = serializers.CharField(source="vendor.name", read_only=True)
    id_number = serializers.SerializerMethodField()
    employee_number = serializers.SerializerMethodField()

    class Meta:
        model = Qualification
        fields = [
            "id",
            "number",
            "program",
            "program_code",
            "dealer",
            "dealer_code",
            "status",
            "customer_name",
            "id_number",
            "employee_number",
            "employer_name",
            "vendor",
            "vendor_name",
            "submitted_at",
            "checked_at",
            "decided_at",
        ]

    def get_id_number(self, qualification) -> str:
        return str(qualification.id_number)  # masked

    def get_employee_number(self, qualification) -> str:
        return str(qualification.employee_number or "")  # masked


class QualificationDetailSerializer(QualificationSerializer):
    documents = serializers.SerializerMethodField()

    class Meta(QualificationSerializer.Meta):
        fields = [*QualificationSerializer.Meta.fields, "documents"]

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_documents(self, qualification):
        return _documents(qualification, self.context)


class QualificationCreateSerializer(serializers.Serializer):
    program = serializers.IntegerField()
    dealer = serializers.IntegerField(required=False, help_text="Default: the caller's dealer")
    values = serializers.DictField(help_text="customer_name, id_number, employer_name, ...")


class QualificationListApi(ListAPIView):
    """Qualifications in scope (a vendor: those assigned to its company); POST asks for one."""

    serializer_class = QualificationSerializer

    def get_permissions(self):
        if self.request.method == "POST":
            return [requires("programs.add_qualification")()]
        return [requires("programs.view_qualification")()]

    @extend_schema(
        parameters=[
            selectors.QUALIFICATION_SORTING.openapi_parameter(),
            OpenApiParameter("q", str),
            OpenApiParameter("status", str),
            OpenApiParameter("queue", bool, description="Only what waits for the caller"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        qualifications = selectors.qualification_search(
            user=self.request.user,
            query=text_param(self.request, "q", max_length=100),
            status=text_param(self.request, "status", max_length=20),
            queue=params.get("queue", "").lower() in ("1", "true"),
        )
        return selectors.QUALIFICATION_SORTING.apply(
            qualifications, params.get("sort", ""), strict=True
        )[0]

    @extend_schema(request=QualificationCreateSerializer, responses={201: QualificationSerializer})
    def post(self, request):
        body = QualificationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        program = selectors.program_get(user=request.user, pk=data["program"])
        dealer = _dealer_for(request, data.get("dealer"))
        qualification = services.qualification_create(
            actor=request.user, program=program, dealer=dealer, values=data["values"]
        )
        return Response(QualificationSerializer(qualification).data, status=status.HTTP_201_CREATED)


class QualificationDetailApi(APIView):
    permission_classes = [requires("programs.view_qualification")]

    @extend_schema(responses=QualificationDetailSerializer)
    def get(self, request, pk):
        qualification = selectors.qualification_get(user=request.user, pk=pk)
        return Response(
            QualificationDetailSerializer(qualification, context={"request": request}).data
        )


AccountHistoryApi = _history_api(
    "account", permission="programs.view_corporateaccount", get=selectors.corporate_account_get
)
ApplicationHistoryApi = _history_api(
    "application",
    permission="programs.view_specialapplication",
    get=selectors.special_application_get,
    events=selectors.application_timeline,
)
QualificationHistoryApi = _history_api(
    "qualification", permission="programs.view_qualification", get=selectors.qualification_get
)

AccountDocumentsApi = _documents_api(
    "account",
    permission="programs.change_corporateaccount",
    get=selectors.corporate_account_get,
    add=services.corporate_account_add_documents,
    detail_serializer=AccountDetailSerializer,
)
ApplicationDocumentsApi = _documents_api(
    "application",
    permission="programs.change_specialapplication",
    get=selectors.special_application_get,
    add=services.application_add_documents,
    detail_serializer=ApplicationDetailSerializer,
)
QualificationDocumentsApi = _documents_api(
    "qualification",
    permission="programs.change_qualification",
    get=selectors.qualification_get,
    add=services.qualification_add_proof,
    detail_serializer=QualificationDetailSerializer,
)
