"""Intake: where each channel's inbound message is filed in a ticket (``filing.file_inbound``, registered with
the one way in, ``engage.services.intake``), channel by channel, and the rate limits of the public entry
points."""
