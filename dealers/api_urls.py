from django.urls import path

from dealers import api
from dealers.models import DealerChangeRequest
from ssa_ops.workflow_api import workflow_api_urls

urlpatterns = [
    path("", api.DealerListApi.as_view(), name="api-dealer-list"),
    path("<int:pk>/", api.DealerDetailApi.as_view(), name="api-dealer-detail"),
    path("<int:pk>/history/", api.DealerHistoryApi.as_view(), name="api-dealer-history"),
    path("import/", api.DealerImportApi.as_view(), name="api-dealer-import"),
    path("export/", api.DealerExportApi.as_view(), name="api-dealer-export"),
    path("change-requests/", api.ChangeRequestListApi.as_view(), name="api-change-request-list"),
    path(
        "change-requests/<int:pk>/",
        api.ChangeRequestDetailApi.as_view(),
        name="api-change-request-detail",
    ),
    *workflow_api_urls(DealerChangeRequest, prefix="change-requests/"),
]
