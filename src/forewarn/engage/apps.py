from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# How often waits that are over are released, and events whose job was lost are looked for (seconds).
WAITS_EVERY = 5
FORGOTTEN_EVERY = 60


class EngageConfig(AppConfig):
    name = "forewarn.engage"
    label = "engage"
    verbose_name = _("Proactive messages")

    def ready(self) -> None:
        from forewarn.engage.services.personal_data import HOLDER
        from forewarn.privacy.services.subjects import register

        register(HOLDER)

        from forewarn.core.periodic import every
        from forewarn.engage.services import events, waits

        # Run by every ``forewarn dispatch`` beside the sender (core.periodic), each safe in several at once.
        every(WAITS_EVERY, "engage.release_waiting", waits.release_due_waits)
        every(FORGOTTEN_EVERY, "engage.forgotten_events", events.sweep_forgotten_events)
