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


def label_of(choices: type[models.TextChoices], code: str) -> str:
    """The label of a stored code in the active language; a code the choices do not know, as it is."""
    return str(choices(code).label) if code in choices.values else code


class Source(models.TextChoices):
    """Where a piece of data came from. Stored as a code; callers of the API may bring codes of their own
    (a shop's "pos", a web form), which are shown as they are."""

    API = "api", _("API")
    AGENT = "agent", _("agent")
    IMPORT = "import", _("import")
    DEMO = "demo", _("demo data")
    MERGE = "merge", _("merge")
    MERGE_UNDO = "merge-undo", _("merge undone")

    @classmethod
    def describe(cls, code: str) -> str:
        return label_of(cls, code)


class Language(models.TextChoices):
    UKRAINIAN = "uk", _("Ukrainian")
    RUSSIAN = "ru", _("Russian")
    ENGLISH = "en", _("English")
