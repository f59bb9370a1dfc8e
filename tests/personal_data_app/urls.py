from django.urls import include, path

from ssa_ops.personal_data_api import personal_data_api_urls
from ssa_ops.personal_data_views import personal_data_html_urls
from tests.personal_data_app import views
from tests.personal_data_app.models import BuyerApplication

urlpatterns = [
    path("applications/", views.application_list, name="application-list"),
    path("applications/export/", views.application_export, name="application-export"),
    path("api/v1/applications/", views.BuyerApplicationListApi.as_view()),
    *personal_data_html_urls(BuyerApplication, prefix="applications/"),
    path("api/v1/", include(personal_data_api_urls(BuyerApplication, prefix="applications/"))),
    path("", include("ssa_ops.urls")),
]
