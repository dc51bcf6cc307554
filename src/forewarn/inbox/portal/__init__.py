"""The customer portal's pages (``/my/``); the rules live in ``inbox.services.intake.portal``."""
