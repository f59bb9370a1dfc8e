from django.urls import path

from programs import api
from programs.models import CorporateAccount, Qualification, SpecialApplication
from ssa_ops.personal_data_api import personal_data_api_urls
from ssa_ops.workflow_api import workflow_api_urls

urlpatterns = [
    path("", api.ProgramListApi.as_view(), name="api-program-list"),
    path("<int:pk>/", api.ProgramDetailApi.as_view(), name="api-program-detail"),
    path("<int:pk>/rule/", api.ProgramRuleApi.as_view(), name="api-program-rule"),
    path("models/", api.VehicleModelListApi.as_view(), name="api-vehicle-model-list"),
    path("accounts/", api.AccountListApi.as_view(), name="api-account-list"),
    path("accounts/<int:pk>/", api.AccountDetailApi.as_view(), name="api-account-detail"),
    path("accounts/<int:pk>/history/", api.AccountHistoryApi.as_view(), name="api-account-history"),
    path(
        "accounts/<int:pk>/documents/",
        api.AccountDocumentsApi.as_view(),
        name="api-account-documents",
    ),
    *workflow_api_urls(CorporateAccount, prefix="accounts/"),
    path("applications/", api.ApplicationListApi.as_view(), name="api-application-list"),
    path(
        "applications/<int:pk>/",
        api.ApplicationDetailApi.as_view(),
        name="api-application-detail",
    ),
    path(
        "applications/<int:pk>/documents/",
        api.ApplicationDocumentsApi.as_view(),
        name="api-application-documents",
    ),
    path(
        "applications/<int:pk>/history/",
        api.ApplicationHistoryApi.as_view(),
        name="api-application-history",
    ),
    path(
        "applications/<int:pk>/steps/<int:step_pk>/resend/",
        api.StepResendApi.as_view(),
        name="api-application-step-resend",
    ),
    path(
        "applications/<int:pk>/steps/<int:step_pk>/reassign/",
        api.StepReassignApi.as_view(),
        name="api-application-step-reassign",
    ),
    *workflow_api_urls(SpecialApplication, prefix="applications/"),
    *personal_data_api_urls(SpecialApplication, prefix="applications/"),
    path("qualifications/", api.QualificationListApi.as_view(), name="api-qualification-list"),
    path(
        "qualifications/<int:pk>/",
        api.QualificationDetailApi.as_view(),
        name="api-qualification-detail",
    ),
    path(
        "qualifications/<int:pk>/history/",
        api.QualificationHistoryApi.as_view(),
        name="api-qualification-history",
    ),
    path(
        "qualifications/<int:pk>/documents/",
        api.QualificationDocumentsApi.as_view(),
        name="api-qualification-documents",
    ),
    *workflow_api_urls(Qualification, prefix="qualifications/"),
    *personal_data_api_urls(Qualification, prefix="qualifications/"),
]
