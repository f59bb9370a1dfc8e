"""API wiring shared by every app: the error format, the token endpoint and jobs."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from ssa_ops.accounts import api_token_issue
from ssa_ops.api_request import (  # noqa: F401 (the kit's API names, in one place)
    ExpiringTokenAuthentication,
    InvalidJson,
    InvalidParameter,
    JSONParser,
    int_param,
    text_param,
)
from ssa_ops.errors import ApplicationError
from ssa_ops.jobs import job_error_rows, job_get, job_result_content, job_summary_rows
from ssa_ops.models import BackgroundJob


def _request_error(exc):
    """A request Django refused to read (too large, too many fields): code and status."""
    if isinstance(exc, RequestDataTooBig):
        return "request_too_large", _("The request body is too large."), 413
    return "bad_request", _("The request could not be read."), 400


def exception_handler(exc, context):
    """Every API error is JSON with a machine-readable `code` and a readable `detail`."""
    if isinstance(exc, SuspiciousOperation):
        code, detail, status_code = _request_error(exc)
        return Response({"code": code, "detail": detail}, status=status_code)
    if isinstance(exc, ApplicationError):
        return Response(
            {"code": exc.code, "detail": exc.message, **exc.extra}, status=exc.status_code
        )
    if isinstance(exc, DjangoValidationError):
        body = {"code": "invalid", "detail": " ".join(exc.messages)}
        if hasattr(exc, "error_dict"):
            body["fields"] = {key: list(value) for key, value in exc.message_dict.items()}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, InvalidParameter):
        response.data = {
            "code": "invalid_parameter",
            "detail": _("The query parameter %(name)s is not valid.")
            % {"name": ", ".join(exc.detail)},
            "fields": exc.detail,
        }
    elif isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": "The request has invalid fields.",
            "fields": exc.detail
            if isinstance(exc.detail, dict)
            else {"non_field_errors": exc.detail},
        }
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = {
            "code": getattr(detail, "code", None) or exc.default_code,
            "detail": str(detail),
        }
    return response


def _api_error_page(request, code, detail, status_code):
    return JsonResponse({"code": code, "detail": detail}, status=status_code)


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


# Django's error pages (handler400/403/404/500 in the URLconf): JSON under /api/, so that even
# an error outside any API view (an unknown URL, an unexpected exception) answers with a code.
def bad_request(request, exception):
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    return _api_error_page(request, *_request_error(exception))


def permission_denied(request, exception):
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return _api_error_page(
        request, "permission_denied", _("You do not have permission to do this."), 403
    )


def page_not_found(request, exception):
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return _api_error_page(request, "not_found", _("Not found."), 404)


def server_error(request):
    if not _is_api(request):
        return defaults.server_error(request)
    return _api_error_page(
        request, "server_error", _("Something went wrong on our side; it was logged."), 500
    )


class TokenObtainApi(APIView):
    """Exchange a username and password for a new API token; the previous one stops working."""

    authentication_classes = []
    permission_classes = [AllowAny]

    class TokenRequestSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(
            max_length=1024, style={"input_type": "password"}, trim_whitespace=False
        )

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer(
                "Token",
                {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()},
            )
        },
    )
    def post(self, request):
        serializer = self.TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The plain HttpRequest, so that django-axes can count failures and lock out (429).
        user = authenticate(request._request, **serializer.validated_data)
        if user is None or not user.is_active:
            raise ApplicationError("Wrong username or password.", code="invalid_credentials")
        token = api_token_issue(user=user)
        expires_at = token.created + timedelta(hours=settings.API_TOKEN_TTL_HOURS)
        return Response(
            {
                "token": token.key,
                "expires_at": serializers.DateTimeField().to_representation(expires_at),
            }
        )


class JobSerializer(serializers.ModelSerializer):
    """A job in the reader's language: its message, errors and summary are rendered when read."""

    kind_label = serializers.CharField(read_only=True)
    message = serializers.CharField(source="message_display", read_only=True)
    errors = serializers.SerializerMethodField()
    summary_rows = serializers.SerializerMethodField()
    percent = serializers.IntegerField(read_only=True)
    is_finished = serializers.BooleanField(read_only=True)
    result_url = serializers.SerializerMethodField()

    class Meta:
        model = BackgroundJob
        fields = [
            "id",
            "kind",
            "kind_label",
            "status",
            "progress_done",
            "progress_total",
            "percent",
            "is_finished",
            "message",
            "error_count",
            "errors",
            "summary",
            "summary_rows",
            "created_at",
            "started_at",
            "finished_at",
            "result_url",
        ]

    def get_errors(self, job) -> list[dict]:
        return job_error_rows(job)

    def get_summary_rows(self, job) -> list[dict]:
        """The summary's figures with their names in the reader's language."""
        return [
            {"key": key, "label": label, "value": value}
            for key, (label, value) in zip(job.summary or {}, job_summary_rows(job), strict=True)
        ]

    def get_result_url(self, job) -> str | None:
        if not job.result_file:
            return None
        from django.urls import reverse

        # Under /api/: the same token that read the job downloads its file.
        return reverse("api-job-result", args=[job.pk])


class JobDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=JobSerializer)
    def get(self, request, job_id):
        return Response(JobSerializer(job_get(user=request.user, job_id=job_id)).data)


class JobResultApi(APIView):
    """The job's result file (an export, or an import's error report)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, job_id):
        job = job_get(user=request.user, job_id=job_id)
        if not job.result_file:
            raise ApplicationError("This job has no file to download.", code="no_result")
        import io

        from django.http import FileResponse

        return FileResponse(
            io.BytesIO(job_result_content(job)), as_attachment=True, filename=job.result_name
        )
