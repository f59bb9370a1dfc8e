"""The API side of personal information: masked values in serializers, and one explicit POST
that shows a value in full and records the look.

    class ClaimSerializer(serializers.ModelSerializer):
        id_number = MaskedField()        # what a model serializer does by default, made explicit

    api_patterns += personal_data_api_urls(Claim, prefix="claims/")
    # POST /api/v1/claims/<pk>/personal-data/<field>/ {"reason": "..."} -> {"field", "value"}

404 outside the caller's scope (the kind's `visible_to`) or for a field that is not personal,
403 (`personal_data_denied`) without `ssa_ops.view_personal_data`.
"""

from axes.helpers import get_client_ip_address
from django.urls import path
from drf_spectacular.utils import (
    OpenApiTypes,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ssa_ops.personal_data import (
    SOURCE_API,
    PersonalValue,
    mask,
    personal_data_show,
    personal_records_for,
)


@extend_schema_field(OpenApiTypes.STR)
class MaskedField(serializers.Field):
    """A personal value as the API shows it: masked, read-only."""

    def __init__(self, kind: str = "", **kwargs):
        self.kind = kind
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value) -> str:
        if isinstance(value, PersonalValue):
            return value.masked
        return mask(self.kind or "text", value)


class ShowReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class PersonalDataShowApi(APIView):
    """POST shows one personal field of one record in full; the look is recorded."""

    permission_classes = [IsAuthenticated]
    model = None

    def post(self, request, pk, field):
        records = personal_records_for(self.model)
        instance = records.get_for_user(user=request.user, pk=pk)
        body = ShowReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        value = personal_data_show(
            user=request.user,
            instance=instance,
            field_name=field,
            source=SOURCE_API,
            reason=body.validated_data["reason"],
            client_address=get_client_ip_address(request),
        )
        response = Response({"field": field, "value": value})
        response["Cache-Control"] = "no-store"
        return response


def personal_data_api_urls(model, *, prefix="") -> list:
    """`<prefix><pk>/personal-data/<field>/`, named `api-<kind>-personal-data`."""
    records = personal_records_for(model)
    view = type(
        f"{model.__name__}PersonalDataShowApi",
        (PersonalDataShowApi,),
        {"model": model, "__doc__": PersonalDataShowApi.__doc__},
    )

    def post(self, request, pk, field):  # its own function: the schema decoration is per model
        return PersonalDataShowApi.post(self, request, pk, field)

    view.post = extend_schema(
        request=ShowReasonSerializer,
        responses=inline_serializer(
            f"{model.__name__}PersonalValue",
            {"field": serializers.CharField(), "value": serializers.CharField()},
        ),
        operation_id=f"{records.kind}_personal_data_show",
    )(post)
    return [
        path(
            f"{prefix}<int:pk>/personal-data/<str:field>/",
            view.as_view(),
            name=f"api-{records.kind}-personal-data",
        )
    ]
