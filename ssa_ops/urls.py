from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ssa_ops import api, attachment_api, link_views, reason_views, views

auth_patterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

api_patterns = [
    path("auth/token/", api.TokenObtainApi.as_view(), name="api-token"),
    path("jobs/<int:job_id>/", api.JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<int:job_id>/result/", api.JobResultApi.as_view(), name="api-job-result"),
    path(
        "attachments/<uuid:attachment_id>/",
        attachment_api.AttachmentDetailApi.as_view(),
        name="api-attachment-detail",
    ),
    path(
        "attachments/<uuid:attachment_id>/file/",
        attachment_api.AttachmentFileApi.as_view(),
        name="api-attachment-file",
    ),
    path(
        "attachments/<uuid:attachment_id>/pages/<int:page>/",
        attachment_api.AttachmentPageApi.as_view(),
        name="api-attachment-page",
    ),
    path("reasons/", reason_views.ReasonListApi.as_view(), name="api-reason-list"),
    path("dealers/", include("dealers.api_urls")),
    path("programs/", include("programs.api_urls")),
    path("", include("claims.api_urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include(auth_patterns)),
    path("i18n/setlang/", views.language_switch, name="set_language"),
    path("jobs/", views.job_index, name="jobs"),
    path("jobs/<int:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/download/", views.job_download, name="job-download"),
    path(
        "attachments/<uuid:attachment_id>/", views.attachment_download, name="attachment-download"
    ),
    path(
        "attachments/<uuid:attachment_id>/pages/<int:page>/",
        views.attachment_rendition,
        name="attachment-rendition",
    ),
    path("views/save/", views.saved_view_save, name="saved-view-save"),
    path("views/<int:pk>/delete/", views.saved_view_delete, name="saved-view-delete"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:email_id>/resend/", views.outbox_resend, name="outbox-resend"),
    path("personal-data/", include("ssa_ops.personal_data_views")),
    path("dealers/", include("dealers.urls")),
    path("programs/", include("programs.urls")),
    path("claims/", include("claims.urls")),
    path("reasons/", reason_views.reason_index, name="reasons"),
    path("reasons/new/", reason_views.reason_edit, name="reason-new"),
    path("reasons/<int:pk>/", reason_views.reason_edit, name="reason-edit"),
    path("links/<str:token>/", link_views.decision_link_page, name="decision-link"),
    path(
        "links/<str:token>/documents/<uuid:attachment_id>/",
        link_views.decision_link_document,
        name="decision-link-document",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_patterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

handler400 = "ssa_ops.api.bad_request"
handler403 = "ssa_ops.api.permission_denied"
handler404 = "ssa_ops.api.page_not_found"
handler500 = "ssa_ops.api.server_error"
