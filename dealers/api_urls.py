from django.urls import path

from dealers import api

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
    path(
        "change-requests/<int:pk>/submit/",
        api.ChangeRequestSubmitApi.as_view(),
        name="api-change-request-submit",
    ),
    path(
        "change-requests/<int:pk>/approve/",
        api.ChangeRequestApproveApi.as_view(),
        name="api-change-request-approve",
    ),
    path(
        "change-requests/<int:pk>/reject/",
        api.ChangeRequestRejectApi.as_view(),
        name="api-change-request-reject",
    ),
    path(
        "change-requests/<int:pk>/apply/",
        api.ChangeRequestApplyApi.as_view(),
        name="api-change-request-apply",
    ),
]
