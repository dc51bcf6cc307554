from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "forewarn.inbox"
    label = "inbox"
    verbose_name = _("Inbox")

    def ready(self) -> None:
        from forewarn.inbox.services.personal_data import HOLDER
        from forewarn.privacy.services.subjects import register

        register(HOLDER)

        from forewarn.engage.services.intake import file_with
        from forewarn.inbox.services.intake.filing import file_inbound

        file_with(file_inbound)

        from forewarn.engage.services.risk import signal_with
        from forewarn.inbox.services.unhappy import unhappy_customers

        signal_with(unhappy_customers)

        from forewarn.core.periodic import every
        from forewarn.inbox.services import assignment, sla
        from forewarn.inbox.services.intake import limits

        every(60, "inbox.sla_sweep", sla.sweep)
        every(30, "inbox.assign_waiting", assignment.assign_waiting)
        every(300, "inbox.forget_old_hits", limits.forget_old_hits)
        from forewarn.channels import imap
        from forewarn.inbox.services.intake.email import take_raw_email

        mailbox = imap.configured()
        if mailbox is not None:
            every(mailbox.interval, "inbox.imap_poll", lambda: imap.poll_configured(take_raw_email))
