from django.urls import path

from programs import views
from programs.models import CorporateAccount, Qualification, SpecialApplication
from ssa_ops.personal_data_views import personal_data_html_urls
from ssa_ops.workflow_views import workflow_html_urls

app_name = "programs"

urlpatterns = [
    path("", views.program_index, name="list"),
    path("<int:pk>/", views.program_detail, name="detail"),
    path("<int:pk>/rules/new/", views.program_rule_new, name="rule-new"),
    path(
        "<int:pk>/rules/<int:rule_pk>/withdraw/",
        views.program_rule_withdraw,
        name="rule-withdraw",
    ),
    path("accounts/", views.account_index, name="account-list"),
    path("accounts/new/", views.account_new, name="account-new"),
    path("accounts/next/", views.account_take_next, name="account-next"),
    path("accounts/<int:pk>/", views.account_detail, name="account-detail"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account-edit"),
    *workflow_html_urls(CorporateAccount, prefix="accounts/"),
    path("applications/", views.application_index, name="application-list"),
    path("applications/new/", views.application_new, name="application-new"),
    path("applications/<int:pk>/", views.application_detail, name="application-detail"),
    path(
        "applications/<int:pk>/documents/",
        views.application_documents,
        name="application-documents",
    ),
    path(
        "applications/<int:pk>/steps/<int:step_pk>/",
        views.application_step,
        name="application-step",
    ),
    *workflow_html_urls(SpecialApplication, prefix="applications/"),
    *personal_data_html_urls(SpecialApplication, prefix="applications/"),
    path("qualifications/", views.qualification_index, name="qualification-list"),
    path("qualifications/new/", views.qualification_new, name="qualification-new"),
    path("qualifications/next/", views.qualification_take_next, name="qualification-next"),
    path("qualifications/<int:pk>/", views.qualification_detail, name="qualification-detail"),
    path(
        "qualifications/<int:pk>/documents/",
        views.qualification_documents,
        name="qualification-documents",
    ),
    *workflow_html_urls(Qualification, prefix="qualifications/"),
    *personal_data_html_urls(Qualification, prefix="qualifications/"),
]
