"""Who is acting: a person in the UI, a machine client with a token, or Forewarn itself (CLI, jobs).

Every service takes ``actor=`` so it can check permission and the audit trail always knows who.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError

from forewarn.accounts.roles import ALL_PERMISSIONS
from forewarn.core.errors import Forbidden

if TYPE_CHECKING:
    from forewarn.accounts.models import User


@dataclass(frozen=True)
class Actor:
    user: User | None
    permissions: frozenset[str]
    token_id: int | None = None
    label: str = ""

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user=user, permissions=user.permissions)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        """Forewarn itself: the CLI run by an operator, background jobs, the demo loader."""
        return cls(user=None, permissions=ALL_PERMISSIONS, label=label)

    @classmethod
    def machine(cls, label: str, *permissions: str) -> Actor:
        """A part of Forewarn that acts on its own (intake, a webhook) with exactly the permissions its
        work needs, so a bug there cannot do what an operator could."""
        return cls(user=None, permissions=frozenset(permissions), label=label)

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    def may(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if not self.may(permission):
            raise Forbidden(
                _("You do not have permission to do this (%(perm)s).") % {"perm": permission},
                code="permission_denied",
            )

    @property
    def key(self) -> str:
        """A stable name for this client, to keep its idempotency keys apart from others'."""
        if self.token_id:
            return f"token:{self.token_id}"
        if self.user is not None:
            return f"user:{self.user.pk}"
        return f"system:{self.label}"

    def __str__(self) -> str:
        return str(self.user) if self.user is not None else self.label


def actor_of(request: HttpRequest) -> Actor:
    """Who sent an API request: ninja's authentication has put the Actor on it."""
    actor = getattr(request, "auth", None)
    if not isinstance(actor, Actor):  # pragma: no cover - every route is authenticated
        raise AuthenticationError
    return actor


def actor_for(request: HttpRequest) -> Actor:
    """The signed-in member of staff behind a page (``core.web.staff_view`` has made sure of one)."""
    from forewarn.accounts.models import User  # noqa: PLC0415 - actors load before the app registry

    user = request.user
    assert isinstance(user, User)
    return Actor.of(user)
