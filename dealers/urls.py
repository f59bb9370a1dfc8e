from django.urls import path

from dealers import views
from dealers.models import DealerChangeRequest
from ssa_ops.workflow_views import workflow_html_urls

app_name = "dealers"

urlpatterns = [
    path("", views.dealer_index, name="list"),
    path("<int:pk>/", views.dealer_detail, name="detail"),
    path("<int:pk>/export/", views.dealer_export_one, name="export-one"),
    path("<int:pk>/changes/new/", views.change_request_new, name="change-new"),
    path("contacts/", views.contact_index, name="contacts"),
    path("export/", views.dealer_export, name="export"),
    path("import/", views.dealer_import, name="import"),
    path("import/template/", views.dealer_import_template, name="import-template"),
    path("changes/", views.change_request_index, name="change-list"),
    path("changes/queue/", views.change_queue, name="change-queue"),
    path("changes/<int:pk>/", views.change_request_detail, name="change-detail"),
    path("changes/<int:pk>/documents/", views.change_request_documents, name="change-documents"),
    *workflow_html_urls(DealerChangeRequest, prefix="changes/"),
]
