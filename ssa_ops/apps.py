from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_role_groups(sender, **kwargs):
    # Permissions are created per app after migrate; once the last app has them, bring the
    # role groups in step with ROLE_PERMISSIONS.
    from django.apps import apps

    from ssa_ops.accounts import role_groups_sync

    if sender is list(apps.get_app_configs())[-1]:
        role_groups_sync()


class SsaOpsConfig(AppConfig):
    name = "ssa_ops"
    verbose_name = _("SSA Ops")

    def ready(self):
        post_migrate.connect(_sync_role_groups, dispatch_uid="ssa_ops_roles")
