from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_VIEW_CATALOG = [
    "programs.view_program",
    "programs.view_programrule",
    "programs.view_vehiclemodel",
    "programs.view_documenttype",
]
_OPS = [
    *_VIEW_CATALOG,
    "programs.view_corporateaccount",
    "programs.decide_corporateaccount",
    "programs.add_specialapplication",
    "programs.change_specialapplication",
    "programs.view_specialapplication",
    "programs.view_qualification",
    "programs.decide_qualification",
]
_LEAD = [*_OPS, "programs.add_programrule", "programs.add_program", "programs.change_program"]
_READ_ALL = [
    *_VIEW_CATALOG,
    "programs.view_corporateaccount",
    "programs.view_specialapplication",
    "programs.view_qualification",
]
ROLE_PERMISSIONS = {
    "ops": _OPS,
    "ops_lead": _LEAD,
    "admin": _LEAD,
    "region_manager": _READ_ALL,
    "qc": _READ_ALL,
    "dealer": [
        *_VIEW_CATALOG,
        "programs.add_corporateaccount",
        "programs.change_corporateaccount",
        "programs.view_corporateaccount",
        "programs.view_specialapplication",
        "programs.add_qualification",
        "programs.change_qualification",
        "programs.view_qualification",
    ],
    # The checking vendor reads the ID number and the proof of employment it checks (only on
    # the qualifications assigned to its company; every look recorded).
    "vendor": [
        "programs.view_qualification",
        "programs.check_qualification",
        "ssa_ops.view_personal_data",
    ],
    "it": [*_VIEW_CATALOG],
}


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = _("Programs")

    def ready(self):
        from programs import api, selectors, services
        from programs.models import (
            PERSONAL_DOCUMENT_PURPOSES,
            ApprovalStep,
            CorporateAccount,
            Program,
            Qualification,
            SpecialApplication,
        )
        from programs.views import link_documents, link_page
        from ssa_ops.attachments import attachment_owner_register
        from ssa_ops.audit import audit_labels_register
        from ssa_ops.dashboard import DashboardPanel, dashboard_panel_register
        from ssa_ops.links import decision_link_handler_register
        from ssa_ops.navigation import NavItem, navigation_register
        from ssa_ops.notifications import email_templates_register
        from ssa_ops.personal_data import (
            PersonalRecords,
            personal_document_purposes_register,
            personal_records_register,
        )
        from ssa_ops.reasons import reason_kinds_register
        from ssa_ops.roles import Role, role_permissions_register
        from ssa_ops.workflow import Workflow, workflow_register

        role_permissions_register(ROLE_PERMISSIONS)
        reason_kinds_register(
            {
                "programs.corporateaccount": CorporateAccount._meta.verbose_name,
                "programs.specialapplication": SpecialApplication._meta.verbose_name,
                "programs.qualification": Qualification._meta.verbose_name,
            }
        )
        email_templates_register(
            {
                "program_approval_request": _("Application to sign"),
                "program_application_decided": _("Application decided"),
                "program_record_to_decide": _("Program record to decide"),
                "program_record_status": _("Program record decided"),
            }
        )
        navigation_register(
            NavItem(_("Programs"), "programs:list", "programs.view_program", order=50),
            NavItem(
                _("Corporate accounts"),
                "programs:account-list",
                "programs.view_corporateaccount",
                order=55,
            ),
            NavItem(
                _("Applications"),
                "programs:application-list",
                "programs.view_specialapplication",
                order=60,
            ),
            NavItem(
                _("Qualifications"),
                "programs:qualification-list",
                "programs.view_qualification",
                order=65,
                label_for_role={Role.VENDOR: _("Checks to do")},
            ),
        )
        dashboard_panel_register(
            DashboardPanel("programs/includes/home_programs.html", selectors.dashboard_programs, 30)
        )
        audit_labels_register(
            {"rule_version": _("new rule version"), "rule_withdrawn": _("rule version withdrawn")},
            model=Program,
        )
        audit_labels_register(
            {
                "approve": _("approved"),
                "reject": _("rejected"),
                "expire": _("expired"),
                "entitlement_consume": _("entitlement used"),
                "entitlement_release": _("entitlement given back"),
            },
            model=SpecialApplication,
        )
        audit_labels_register(
            {
                "send_link": _("sent to the approver"),
                "send_again": _("sent to the approver again"),
                "remind": _("approver reminded"),
                "approve": _("approved"),
                "reject": _("rejected"),
                "cancel": _("cancelled"),
            },
            model=ApprovalStep,
        )
        workflow_register(
            Workflow(
                model=CorporateAccount,
                slug="accounts",
                visible_to=selectors.corporate_account_list,
                services={
                    "submit": services.corporate_account_submit,
                    "approve": services.corporate_account_approve,
                    "reset": services.corporate_account_reset,
                    "reject": services.corporate_account_reject,
                },
                serializer=api.AccountDetailSerializer,
                detail_url_name="programs:account-detail",
            )
        )
        workflow_register(
            Workflow(
                model=SpecialApplication,
                slug="applications",
                visible_to=selectors.special_application_list,
                services={
                    "submit": services.application_submit,
                    "cancel": services.application_cancel,
                },
                serializer=api.ApplicationDetailSerializer,
                detail_url_name="programs:application-detail",
            )
        )
        workflow_register(
            Workflow(
                model=Qualification,
                slug="qualifications",
                visible_to=selectors.qualification_list,
                services={
                    "submit": services.qualification_submit,
                    "check_pass": services.qualification_check_pass,
                    "check_fail": services.qualification_check_fail,
                    "approve": services.qualification_approve,
                    "reject": services.qualification_reject,
                },
                serializer=api.QualificationDetailSerializer,
                detail_url_name="programs:qualification-detail",
            )
        )
        attachment_owner_register(CorporateAccount, selectors.corporate_account_list)
        attachment_owner_register(SpecialApplication, selectors.special_application_list)
        attachment_owner_register(Qualification, selectors.qualification_list)
        personal_document_purposes_register(PERSONAL_DOCUMENT_PURPOSES)
        personal_records_register(
            PersonalRecords(
                model=SpecialApplication,
                kind="program_application",
                label=SpecialApplication._meta.verbose_name,
                visible_to=selectors.special_application_list,
                closed_at=selectors.applications_closed_before,
                erase_fields=("applicant_name",),
                document_purposes=("application_document",),
                # Erasing keeps the record, its SSA number and units (claims point at them):
                # only the person's data goes once the period after its end has passed.
                retention_days=1095,
            )
        )
        personal_records_register(
            PersonalRecords(
                model=Qualification,
                kind="program_qualification",
                label=Qualification._meta.verbose_name,
                visible_to=selectors.qualification_list,
                closed_at=selectors.qualifications_closed_before,
                erase_fields=("customer_name",),
                document_purposes=("employment_proof",),
                retention_days=1095,
            )
        )
        decision_link_handler_register(
            services.LINK_PURPOSE,
            page=link_page,
            decide=services.approval_step_decide,
            documents=link_documents,
        )
