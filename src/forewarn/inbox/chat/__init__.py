"""The web chat widget's public endpoints (``/chat/``); the rules live in ``inbox.services.intake.chat``."""
