from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealersConfig(AppConfig):
    name = "dealers"
    verbose_name = _("Dealers")

    def ready(self):
        from dealers.models import DealerChangeRequest
        from dealers.selectors import change_request_list
        from ssa_ops.attachments import attachment_owner_register
        from ssa_ops.jobs import job_handler_register

        attachment_owner_register(DealerChangeRequest, change_request_list)
        job_handler_register(
            "dealer_import", "dealers.excel.dealer_import_job", label=_("Dealer import")
        )
        job_handler_register(
            "dealer_export", "dealers.excel.dealer_export_job", label=_("Dealer export")
        )
