from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "forewarn.privacy"
    label = "privacy"
    verbose_name = _("Personal data")

    def ready(self) -> None:
        from forewarn.privacy.personal_data import HOLDER  # noqa: PLC0415 - models are loaded by now
        from forewarn.privacy.services.subjects import register  # noqa: PLC0415

        register(HOLDER)
