"""Words every app shares: channels, consent topics and the languages Forewarn speaks."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    TELEGRAM = "telegram", _("Telegram")
    VIBER = "viber", _("Viber")
    VOICE = "voice", _("Phone call")
    WEBCHAT = "webchat", _("Web chat")


class Topic(models.TextChoices):
    """What a message is about; consent is given or refused per topic and channel."""

    TRANSACTIONAL = "transactional", _("Transactional")
    SERVICE = "service", _("Service")
    MARKETING = "marketing", _("Marketing")
    SURVEYS = "surveys", _("Surveys")


class Language(models.TextChoices):
    UKRAINIAN = "uk", _("Ukrainian")
    RUSSIAN = "ru", _("Russian")
    ENGLISH = "en", _("English")
