"""Staff: people who use Forewarn, their teams and the API tokens that machine clients use."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from forewarn.accounts.roles import Role, permissions_for_role
from forewarn.core.vocab import Language


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A member of staff. What they may do follows from ``role``; Django's own flags stay for the CLI."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    teams = models.ManyToManyField(Team, related_name="members", blank=True, verbose_name=_("teams"))
    # The interface language they chose last; applied at every sign-in (accounts.views).
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def permissions(self) -> frozenset[str]:
        if not self.is_active:
            return frozenset()
        return permissions_for_role(self.role)

    def may(self, permission: str) -> bool:
        return permission in self.permissions


class ApiToken(models.Model):
    """A bearer token for a machine client. Only a SHA-256 digest is stored; the secret is shown once.

    Tokens are 256 random bits, so a fast digest is as safe as a slow password hash here and keeps
    every API call cheap. ``prefix`` (the first characters) lets people tell their tokens apart.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
