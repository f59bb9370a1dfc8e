from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# What each role may do with dealers, contacts and change requests.
_OPS = [
    "dealers.view_region",
    "dealers.view_dealer",
    "dealers.view_all_dealers",
    "dealers.export_dealers",
    "dealers.view_dealercontact",
    "dealers.add_dealerchangerequest",
    "dealers.change_dealerchangerequest",
    "dealers.view_dealerchangerequest",
    "dealers.decide_dealerchangerequest",
]
ROLE_PERMISSIONS = {
    "ops": _OPS,
    "ops_lead": [*_OPS, "dealers.import_dealers"],
    "admin": [*_OPS, "dealers.import_dealers"],
    "region_manager": [
        "dealers.view_region",
        "dealers.view_dealer",
        "dealers.export_dealers",
        "dealers.view_dealercontact",
        "dealers.view_dealerchangerequest",
    ],
    "qc": [
        "dealers.view_region",
        "dealers.view_dealer",
        "dealers.view_all_dealers",
        "dealers.view_dealercontact",
    ],
    "dealer": [
        "dealers.view_dealer",
        "dealers.view_dealercontact",
        "dealers.add_dealerchangerequest",
        "dealers.change_dealerchangerequest",
        "dealers.view_dealerchangerequest",
    ],
    "it": ["dealers.view_region", "dealers.view_dealer", "dealers.view_all_dealers"],
}


class DealersConfig(AppConfig):
    name = "dealers"
    verbose_name = _("Dealers")

    def ready(self):
        from dealers import api, selectors, services
        from dealers.models import DealerChangeRequest
        from ssa_ops.attachments import attachment_owner_register
        from ssa_ops.audit import audit_labels_register
        from ssa_ops.dashboard import DashboardPanel, dashboard_panel_register
        from ssa_ops.jobs import job_handler_register
        from ssa_ops.navigation import NavItem, navigation_register
        from ssa_ops.notifications import email_templates_register
        from ssa_ops.roles import Role, role_permissions_register
        from ssa_ops.workflow import Workflow, workflow_register

        role_permissions_register(ROLE_PERMISSIONS)
        email_templates_register(
            {
                "change_request_submitted": _("Change request to decide"),
                "change_request_status": _("Change request decided"),
            }
        )
        navigation_register(
            NavItem(
                _("Dealers"),
                "dealers:list",
                "dealers.view_dealer",
                order=10,
                label_for_role={Role.DEALER: _("My dealer")},
            ),
            NavItem(_("Contacts"), "dealers:contacts", "dealers.view_all_dealers", order=20),
            NavItem(
                _("Change queue"),
                "dealers:change-queue",
                "dealers.decide_dealerchangerequest",
                order=30,
            ),
            NavItem(
                _("Change requests"),
                "dealers:change-list",
                "dealers.view_dealerchangerequest",
                order=40,
            ),
            NavItem(_("Imports & exports"), "jobs", "dealers.export_dealers", order=800),
        )
        dashboard_panel_register(
            DashboardPanel("dealers/includes/home_dealers.html", selectors.dashboard_dealers, 10)
        )
        dashboard_panel_register(
            DashboardPanel("dealers/includes/home_changes.html", selectors.dashboard_changes, 20)
        )
        audit_labels_register(
            {
                "apply_failed": _("could not apply"),
                "change_applied": _("change applied"),
                "contacts_changed": _("contacts changed"),
                "import_create": _("created by import"),
                "import_update": _("updated by import"),
                "import_contacts": _("contacts imported"),
                "suspend": _("suspended"),
                "reactivate": _("reactivated"),
                "terminate": _("terminated"),
            }
        )
        workflow_register(
            Workflow(
                model=DealerChangeRequest,
                slug="change-requests",
                visible_to=selectors.change_request_list,
                services={
                    "submit": services.change_request_submit,
                    "approve": services.change_request_approve,
                    "reject": services.change_request_reject,
                    "apply": services.change_request_apply,
                    "cancel": services.change_request_cancel,
                },
                serializer=api.ChangeRequestDetailSerializer,
                outcome=services.change_request_outcome,
                detail_url_name="dealers:change-detail",
            )
        )
        attachment_owner_register(DealerChangeRequest, selectors.change_request_list)
        job_handler_register(
            "dealer_import",
            "dealers.excel.dealer_import_job",
            label=_("Dealer import"),
            failure_report="dealers.excel.dealer_import_error_report",
            summary_labels={
                "created": _("New dealers"),
                "updated": _("Dealers updated"),
                "contacts": _("Contacts"),
            },
        )
        job_handler_register(
            "dealer_export",
            "dealers.excel.dealer_export_job",
            label=_("Dealer export"),
            summary_labels={"dealers": _("Dealers")},
        )
