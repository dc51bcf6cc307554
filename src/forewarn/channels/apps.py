from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _

from forewarn.channels.checks import check_providers


class ChannelsConfig(AppConfig):
    name = "forewarn.channels"
    label = "channels"
    verbose_name = _("Channels")

    def ready(self) -> None:
        from forewarn.channels.personal_data import HOLDER
        from forewarn.privacy.services.subjects import register

        register(HOLDER)

        checks.register(check_providers)
