from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "forewarn.privacy"
    label = "privacy"
    verbose_name = _("Personal data")

    def ready(self) -> None:
        from forewarn.accounts.services import listen_to_changes
        from forewarn.privacy.personal_data import HOLDER
        from forewarn.privacy.services.audit import record_setting
        from forewarn.privacy.services.subjects import register

        register(HOLDER)
        # Staff and tokens are kept by accounts, below privacy: it tells the audit log what changed.
        listen_to_changes(record_setting)
