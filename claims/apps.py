from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_VIEW = ["claims.view_preapplication", "claims.view_claim"]
_OPS = [
    *_VIEW,
    "claims.decide_preapplication",
    "claims.cancel_preapplication",
    "claims.decide_claim",
]
ROLE_PERMISSIONS = {
    "ops": _OPS,
    "ops_lead": [*_OPS, "claims.settle_claims"],
    "admin": [*_OPS, "claims.settle_claims"],
    "region_manager": _VIEW,
    "qc": _VIEW,
    "dealer": [
        *_VIEW,
        "claims.add_preapplication",
        "claims.change_preapplication",
        "claims.cancel_preapplication",
        "claims.add_claim",
        "claims.change_claim",
    ],
}


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = _("Claims")

    def ready(self):
        from claims import api, selectors, services, views
        from claims.models import Claim, PreApplication, SettlementBatch
        from ssa_ops.attachments import attachment_owner_register
        from ssa_ops.audit import audit_labels_register
        from ssa_ops.dashboard import DashboardPanel, dashboard_panel_register
        from ssa_ops.jobs import job_handler_register
        from ssa_ops.navigation import NavItem, navigation_register
        from ssa_ops.notifications import email_templates_register
        from ssa_ops.personal_data import (
            PersonalRecords,
            personal_document_purposes_register,
            personal_records_register,
        )
        from ssa_ops.reasons import reason_kinds_register
        from ssa_ops.roles import Role, role_permissions_register
        from ssa_ops.saved_views import BuiltInView, saved_views_builtin_register
        from ssa_ops.workflow import Workflow, workflow_register

        role_permissions_register(ROLE_PERMISSIONS)
        reason_kinds_register(
            {
                "claims.preapplication": PreApplication._meta.verbose_name,
                "claims.claim": Claim._meta.verbose_name,
            }
        )
        navigation_register(
            NavItem(_("Claims"), "claims:list", "claims.view_claim", order=70),
            NavItem(
                _("Pre-applications"),
                "claims:preapplication-list",
                "claims.view_preapplication",
                order=68,
            ),
        )
        dashboard_panel_register(
            DashboardPanel("claims/includes/home_claims.html", views.dashboard_claims, 20)
        )
        email_templates_register(
            {
                "claims_record_status": _("Pre-application or claim decided"),
                "claims_reset_reminder": _("Claim reset to answer"),
                "claims_bulk_decided": _("Claims decided together"),
            }
        )
        for model in (PreApplication, Claim):
            audit_labels_register(
                {"create": _("created"), "update": _("edited"), "attach": _("document added")},
                model=model,
            )
        audit_labels_register({"expire": _("expired")}, model=PreApplication)
        audit_labels_register(
            {"create": _("settled"), "update": _("claims added")}, model=SettlementBatch
        )
        audit_labels_register(
            {
                "settle": _("settled"),
                "send_to_check": _("sent to the checking vendor"),
                "reject_unanswered": _("rejected: reset not answered in time"),
            },
            model=Claim,
        )
        workflow_register(
            Workflow(
                model=PreApplication,
                slug="preapplications",
                visible_to=selectors.preapplication_list,
                services={
                    "submit": services.preapplication_submit,
                    "resubmit": services.preapplication_resubmit,
                    "approve": services.preapplication_approve,
                    "reset": services.preapplication_reset,
                    "reject": services.preapplication_reject,
                    "cancel": services.preapplication_cancel,
                },
                serializer=api.PreApplicationDetailSerializer,
                detail_url_name="claims:preapplication-detail",
            )
        )
        workflow_register(
            Workflow(
                model=Claim,
                slug="claims",
                visible_to=selectors.claim_list,
                services={
                    "submit": services.claim_submit,
                    "resubmit": services.claim_resubmit,
                    "pick_up": services.claim_pick_up,
                    "approve": services.claim_approve,
                    "reset": services.claim_reset,
                    "reject": services.claim_reject,
                    "withdraw": services.claim_withdraw,
                },
                serializer=api.ClaimDetailSerializer,
                detail_url_name="claims:detail",
                next_url_name="claims:next",
                next_after=("approve", "reset", "reject"),
            )
        )
        job_handler_register(
            "claims_bulk_decide",
            "claims.services.bulk.claims_bulk_job_run",
            label=_("Bulk decision on claims"),
            summary_labels={"done": _("Claims decided"), "skipped": _("Claims skipped")},
        )
        job_handler_register(
            "claims_settlement",
            "claims.services.settlement.settlement_job_run",
            label=_("Monthly settlement"),
            summary_labels={"dealers": _("Dealers settled"), "claims": _("Claims settled")},
        )
        saved_views_builtin_register(
            "claims:list",
            [
                BuiltInView(_("Waiting for ops"), "", permission="claims.decide_claim"),
                BuiltInView(
                    _("Mine in review"), "status=in_review&mine=1", permission="claims.decide_claim"
                ),
                BuiltInView(
                    _("Waiting over 5 days"), "older_than_days=5", permission="claims.decide_claim"
                ),
                BuiltInView(
                    _("OCR mismatch"), "invoice_check=mismatch", permission="claims.decide_claim"
                ),
                BuiltInView(_("Flagged"), "flagged=1"),
                BuiltInView(_("Resets to answer"), "status=reset", roles=(Role.DEALER,)),
                BuiltInView(_("Drafts"), "status=draft", roles=(Role.DEALER,)),
            ],
        )
        attachment_owner_register(PreApplication, selectors.preapplication_list)
        attachment_owner_register(Claim, selectors.claim_list)
        # A claim's ID card scan is personal: stored encrypted, every look recorded.
        personal_document_purposes_register({"id_card": _("ID card")})
        personal_records_register(
            PersonalRecords(
                model=PreApplication,
                kind="preapplication",
                label=PreApplication._meta.verbose_name,
                visible_to=selectors.preapplication_list,
                closed_at="closed_at",
                erase_fields=("customer_name",),
                document_purposes=("id_card",),
                retention_days=1095,
            )
        )
        personal_records_register(
            PersonalRecords(
                model=Claim,
                kind="claim",
                label=Claim._meta.verbose_name,
                visible_to=selectors.claim_list,
                closed_at="closed_at",
                erase_fields=("buyer_name",),
                document_purposes=("id_card",),
                retention_days=1095,
            )
        )
