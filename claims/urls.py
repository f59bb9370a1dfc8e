from django.urls import path

from claims import views
from claims.models import Claim, PreApplication
from ssa_ops.personal_data_views import personal_data_html_urls
from ssa_ops.workflow_views import workflow_html_urls

app_name = "claims"

urlpatterns = [
    path("", views.claim_index, name="list"),
    path("new/", views.claim_new, name="new"),
    path("next/", views.claim_take_next, name="next"),
    path("bulk/", views.claim_bulk, name="bulk"),
    path("export/", views.claim_export, name="export"),
    path("settlements/", views.settlement_index, name="settlement-list"),
    path(
        "settlements/<int:pk>/statement/",
        views.settlement_statement,
        name="settlement-statement",
    ),
    path("<int:pk>/", views.claim_detail, name="detail"),
    path("<int:pk>/edit/", views.claim_edit, name="edit"),
    path("<int:pk>/documents/", views.claim_documents, name="documents"),
    path(
        "<int:pk>/invoice-checks/<int:check_id>/review/",
        views.invoice_check_review,
        name="invoice-check-review",
    ),
    path(
        "<int:pk>/invoice-checks/<int:check_id>/read-again/",
        views.invoice_check_rerun,
        name="invoice-check-rerun",
    ),
    path(
        "<int:pk>/invoice-checks/<int:check_id>/page.jpg",
        views.invoice_check_page,
        name="invoice-check-page",
    ),
    *workflow_html_urls(Claim),
    *personal_data_html_urls(Claim),
    path("preapplications/", views.preapplication_index, name="preapplication-list"),
    path("preapplications/new/", views.preapplication_new, name="preapplication-new"),
    path("preapplications/<int:pk>/", views.preapplication_detail, name="preapplication-detail"),
    path("preapplications/<int:pk>/edit/", views.preapplication_edit, name="preapplication-edit"),
    path(
        "preapplications/<int:pk>/documents/",
        views.preapplication_documents,
        name="preapplication-documents",
    ),
    *workflow_html_urls(PreApplication, prefix="preapplications/"),
    *personal_data_html_urls(PreApplication, prefix="preapplications/"),
]
