"""Where the inbox files what the intake pipeline hears (``engage.services.intake``): each channel's
message in the ticket it belongs to. Registered in ``InboxConfig.ready``."""

from __future__ import annotations

from collections.abc import Callable

from forewarn.channels.inbound import Inbound
from forewarn.core.vocab import Channel
from forewarn.customers.models import Customer
from forewarn.engage.services.intake import Filed
from forewarn.inbox.services.intake import calls, chat, desk, email, messaging, portal

MESSENGERS = (Channel.SMS, Channel.TELEGRAM, Channel.VIBER)


# A message some provider hands over is filed by that provider's filer whatever its channel; the rest by
# their channel's.
BY_PROVIDER: dict[str, Callable[[Customer, Inbound], Filed]] = {
    desk.PROVIDER: desk.file_desk,
    portal.PROVIDER: portal.file_portal_answer,
}


def file_inbound(customer: Customer, inbound: Inbound) -> Filed | None:
    """File one inbound message in its ticket; None for what is not the inbox's to file."""
    if inbound.provider in BY_PROVIDER:
        return BY_PROVIDER[inbound.provider](customer, inbound)
    if inbound.channel == Channel.EMAIL:
        return email.file_email(customer, inbound)
    if inbound.channel == Channel.WEBCHAT:
        return chat.file_chat_line(customer, inbound)
    if inbound.channel == Channel.VOICE:
        return calls.file_call(customer, inbound)
    if inbound.channel in MESSENGERS:
        return messaging.file_reply(customer, inbound)
    return None
