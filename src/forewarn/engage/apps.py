from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngageConfig(AppConfig):
    name = "forewarn.engage"
    label = "engage"
    verbose_name = _("Proactive messages")

    def ready(self) -> None:
        from forewarn.engage.services.personal_data import HOLDER
        from forewarn.privacy.services.subjects import register

        register(HOLDER)
