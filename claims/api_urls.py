from django.urls import path

from claims import api
from claims.models import Claim, PreApplication
from ssa_ops.personal_data_api import personal_data_api_urls
from ssa_ops.workflow_api import workflow_api_urls

urlpatterns = [
    path("preapplications/", api.PreApplicationListApi.as_view(), name="api-preapplication-list"),
    path(
        "preapplications/<int:pk>/",
        api.PreApplicationDetailApi.as_view(),
        name="api-preapplication-detail",
    ),
    path(
        "preapplications/<int:pk>/documents/",
        api.PreApplicationDocumentsApi.as_view(),
        name="api-preapplication-documents",
    ),
    *workflow_api_urls(PreApplication, prefix="preapplications/"),
    *personal_data_api_urls(PreApplication, prefix="preapplications/"),
    path("claims/", api.ClaimListApi.as_view(), name="api-claim-list"),
    path("claims/take-next/", api.ClaimTakeNextApi.as_view(), name="api-claim-take-next"),
    path("claims/bulk/", api.ClaimBulkDecideApi.as_view(), name="api-claim-bulk"),
    path("claims/<int:pk>/", api.ClaimDetailApi.as_view(), name="api-claim-detail"),
    path("claims/<int:pk>/documents/", api.ClaimDocumentsApi.as_view(), name="api-claim-documents"),
    path(
        "claims/<int:pk>/invoice-checks/<int:check_id>/review/",
        api.InvoiceCheckReviewApi.as_view(),
        name="api-invoice-check-review",
    ),
    path(
        "claims/<int:pk>/invoice-checks/<int:check_id>/read-again/",
        api.InvoiceCheckRerunApi.as_view(),
        name="api-invoice-check-rerun",
    ),
    *workflow_api_urls(Claim, prefix="claims/"),
    path("settlements/", api.SettlementListApi.as_view(), name="api-settlement-list"),
    path(
        "settlements/<int:pk>/statement/",
        api.SettlementStatementApi.as_view(),
        name="api-settlement-statement",
    ),
    *personal_data_api_urls(Claim, prefix="claims/"),
]
