"""SMS in: a customer's reply through the provider's signed webhook lands in their ticket, once."""

from __future__ import annotations

from datetime import timedelta

from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.engage.tests.test_callbacks import post_signed, twilio  # noqa: F401 - the fixture
from forewarn.inbox.models import Entry, Ticket, TicketStatus
from forewarn.inbox.services.intake import limits

SMS = {"From": "+380671234567", "To": "+380440000000"}


def test_an_sms_reply_opens_a_ticket_and_the_next_one_joins_it(twilio: None, maria: Customer) -> None:  # noqa: F811 - the fixture, imported by name
    post_signed({**SMS, "MessageSid": "SM10", "Body": "Картка 4111 1111 1111 1111 не працює"})
    post_signed({**SMS, "MessageSid": "SM11", "Body": "І досі не працює"})
    ticket = Ticket.objects.get()
    assert (ticket.customer, ticket.channel, ticket.status) == (maria, "sms", TicketStatus.NEW)
    assert [e.text for e in ticket.entries.all()] == [
        "Картка 4111 •••• •••• 1111 не працює",
        "І досі не працює",
    ]
    # The provider sends the same webhook again: nothing new.
    post_signed({**SMS, "MessageSid": "SM11", "Body": "І досі не працює"})
    assert Entry.objects.count() == 2


def test_a_reply_after_a_quiet_week_starts_a_new_conversation(twilio: None, maria: Customer) -> None:  # noqa: F811 - the fixture, imported by name
    post_signed({**SMS, "MessageSid": "SM20", "Body": "Питання"})
    Ticket.objects.update(status=TicketStatus.SOLVED, last_inbound_at=clock.now() - timedelta(days=8))
    post_signed({**SMS, "MessageSid": "SM21", "Body": "Нове питання"})
    assert Ticket.objects.count() == 2


def test_a_stop_reply_is_an_opt_out_not_a_ticket(twilio: None, maria: Customer) -> None:  # noqa: F811 - the fixture, imported by name
    post_signed({**SMS, "MessageSid": "SM30", "Body": "STOP"})
    assert not Ticket.objects.exists()


def test_a_stranger_who_texts_becomes_a_customer_with_their_number(twilio: None, db: None) -> None:  # noqa: F811 - the fixture, imported by name
    post_signed({"From": "+380931112233", "To": "+380440000000", "MessageSid": "SM40", "Body": "Доброго дня"})
    ticket = Ticket.objects.get()
    assert ticket.customer.identities.get().value == "+380931112233"
    # A STOP from a stranger refuses nothing and creates nobody.
    post_signed({"From": "+380934445566", "To": "+380440000000", "MessageSid": "SM41", "Body": "STOP"})
    assert Customer.objects.count() == 1


def test_a_flood_from_one_number_is_not_filed(twilio: None, maria: Customer) -> None:  # noqa: F811 - the fixture, imported by name
    with clock.frozen_at(clock.now().replace(second=0, microsecond=0)):
        for n in range(limits.LIMITS["sms"] + 3):
            post_signed({**SMS, "MessageSid": f"SM5{n}", "Body": f"спам {n}"})
    assert Entry.objects.count() == limits.LIMITS["sms"]
