"""The local provider: sends nothing, records what it would have sent, and dedupes like a real provider.

The demo and the tests use it for every channel. A message handed over again with the same idempotency
key is not recorded twice: the first record's ``attempts`` goes up and the answer repeats its id with
``duplicate=True``, which is what a provider that honours idempotency keys does. It takes no options,
reads no environment and hears no callbacks; its module needs the models, so the registry loads it only
when a channel uses it (settings.py reads the environment before the models exist).
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import F

from forewarn.channels.base import Outbound, ProviderKind, SendResult
from forewarn.channels.models import LocalDelivery
from forewarn.core import clock


class LocalProvider:
    name = "local"

    def __init__(self, *, channel: str) -> None:
        self.channel = channel

    def send(self, message: Outbound) -> SendResult:
        moment = clock.now()
        # Its own transaction, as a provider's store is: the record and the attempt count change together,
        # and two workers handing over the same key at once end with one record (get_or_create re-reads
        # the row the other one inserted).
        with transaction.atomic():
            delivery, created = LocalDelivery.objects.get_or_create(
                idempotency_key=message.idempotency_key,
                defaults={
                    "channel": message.channel,
                    "address": message.address,
                    "subject": message.subject,
                    "body": message.body,
                    "html": message.html,
                    "language": message.language,
                    "provider_message_id": f"local-{uuid.uuid4().hex}",
                    "first_sent_at": moment,
                    "last_sent_at": moment,
                },
            )
            if not created:
                LocalDelivery.objects.filter(pk=delivery.pk).update(
                    attempts=F("attempts") + 1, last_sent_at=moment
                )
        return SendResult(
            provider=self.name, provider_message_id=delivery.provider_message_id, duplicate=not created
        )


# Any channel: a channel with no provider configured is recorded here.
KIND = ProviderKind(name="local", channels=None, factory=LocalProvider)
