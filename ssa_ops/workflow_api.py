"""One POST endpoint per declared transition, generated from the workflow's registration.

    urlpatterns += workflow_api_urls(DealerChangeRequest)   # .../<pk>/submit/, .../<pk>/approve/

404 outside the caller's scope, 403 without the permission (or for a rule such as four eyes),
409 when not possible now, 400 for a missing reason; every error JSON with a `code`.
"""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ssa_ops.workflow import (
    REASON_CODED,
    REASON_NONE,
    REASON_REQUIRED,
    transition_check,
    workflow_for,
)


class OptionalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RequiredReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class CodedReasonSerializer(serializers.Serializer):
    reasons = serializers.ListField(
        child=serializers.CharField(max_length=50),
        min_length=1,
        max_length=20,
        help_text="Codes from the reason catalog (/api/v1/reasons/) that apply to this record",
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class WorkflowTransitionApi(APIView):
    """POST runs one transition on one record (set per generated endpoint)."""

    permission_classes = [IsAuthenticated]
    model = None
    transition = ""

    def post(self, request, pk):
        workflow = workflow_for(self.model)
        instance = workflow.get_for_user(user=request.user, pk=pk)
        # Refuse before reading the body: 403/409 say more than a 400 about a missing reason.
        transition_check(instance, self.transition, request.user)
        reason, reasons = "", []
        reason_rule = workflow.transitions[self.transition].custom.get("reason")
        if reason_rule == REASON_CODED:
            body = CodedReasonSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            reason, reasons = body.validated_data["comment"], body.validated_data["reasons"]
        elif reason_rule != REASON_NONE:
            body = (
                RequiredReasonSerializer
                if reason_rule == REASON_REQUIRED
                else OptionalReasonSerializer
            )(data=request.data)
            body.is_valid(raise_exception=True)
            reason = body.validated_data["reason"]
        result = workflow.run(
            name=self.transition,
            user=request.user,
            pk=instance.pk,
            reason=reason,
            reasons=reasons,
        )
        result.refresh_from_db()  # a task run on commit may have moved it on already
        return Response(workflow.serializer(result, context={"request": request}).data)


def workflow_api_urls(model, *, prefix="") -> list:
    """The transition endpoints of a registered workflow, named `api-<slug>-<transition>`."""
    workflow = workflow_for(model)
    patterns = []
    for name, declared in workflow.transitions.items():
        reason_rule = declared.custom.get("reason")
        request_schema = {
            REASON_NONE: None,
            REASON_REQUIRED: RequiredReasonSerializer,
            REASON_CODED: CodedReasonSerializer,
        }.get(reason_rule, OptionalReasonSerializer)
        view = type(
            f"{model.__name__}{name.title()}Api",
            (WorkflowTransitionApi,),
            {
                "model": model,
                "transition": name,
                "__doc__": f"{str(declared.custom['label'])}: POST runs the "
                f"`{name}` transition ({', '.join(map(str, _sources(declared)))} → "
                f"{declared.target}).",
            },
        )

        def post(self, request, pk):  # its own function: the schema decoration is per endpoint
            return WorkflowTransitionApi.post(self, request, pk)

        view.post = extend_schema(
            request=request_schema,
            responses=workflow.serializer,
            operation_id=f"{workflow.slug.replace('-', '_')}_{name}",
        )(post)
        patterns.append(
            path(f"{prefix}<int:pk>/{name}/", view.as_view(), name=f"api-{workflow.slug}-{name}")
        )
    return patterns


def _sources(declared):
    meta = declared.method._django_fsm
    return [source for source, item in meta.transitions.items() if item.name == declared.name]
