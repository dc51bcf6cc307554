from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngageConfig(AppConfig):
    name = "forewarn.engage"
    label = "engage"
    verbose_name = _("Proactive messages")
