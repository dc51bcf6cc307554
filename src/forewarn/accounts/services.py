"""Operations on staff and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import ApiToken, Team, User
from forewarn.accounts.roles import ALL_PERMISSIONS, Perm, Role, permissions_for_role
from forewarn.core import clock
from forewarn.core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from forewarn.core.vocab import Language

TOKEN_PREFIX = "fw_"  # noqa: S105 - a marker that makes leaked tokens easy to scan for, not a secret


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# Who hears that staff or tokens changed (the audit log, in privacy's AppConfig.ready): accounts sits
# below every other app and imports none of them. A listener gets the actor, the row, what happened
# (created, revoked) and the fields worth keeping; never a secret or a password.
CHANGE_LISTENERS: list[Callable[[Actor, Model, str, dict[str, Any]], object]] = []


def listen_to_changes(listener: Callable[[Actor, Model, str, dict[str, Any]], object]) -> None:
    if listener not in CHANGE_LISTENERS:
        CHANGE_LISTENERS.append(listener)


def _changed(actor: Actor, row: Model, change: str, fields: dict[str, Any]) -> None:
    for listener in CHANGE_LISTENERS:
        listener(actor, row, change, fields)


@transaction.atomic
def create_staff_user(
    *,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    teams: list[str] | None = None,
    check_password: bool = True,
) -> User:
    """Create a member of staff."""
    actor.require(Perm.STAFF_MANAGE)
    if role not in Role.values:
        raise ValidationFailed.single("role", "unknown_role", _("Unknown role."))
    user = User(
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    if check_password:
        try:
            validate_password(password, user)
        except DjangoValidationError as exc:
            raise ValidationFailed(
                [FieldError("password", "weak_password", str(m)) for m in exc.messages]
            ) from exc
    user.set_password(password)
    user.save()
    for name in teams or []:
        team, _created = Team.objects.get_or_create(name=name)
        user.teams.add(team)
    _changed(actor, user, "created", {"username": username, "role": role, "teams": sorted(teams or [])})
    return user


@transaction.atomic
def issue_token(
    *,
    actor: Actor,
    user: User,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token for ``user``; returns the record and the secret, which is never shown again.

    People issue tokens for themselves; only staff managers issue them for others. Scopes default to
    everything the owner's role allows, and may not name permissions that do not exist. Nobody hands
    out what they may not do themselves: a narrow token must not mint a wide one.
    """
    if actor.user_id != user.pk:
        actor.require(Perm.STAFF_MANAGE)
    default = permissions_for_role(user.role) & actor.permissions
    chosen = sorted(set(scopes)) if scopes is not None else sorted(default)
    unknown = [s for s in chosen if s not in ALL_PERMISSIONS]
    if unknown:
        raise ValidationFailed.single(
            "scopes", "unknown_scope", _("Unknown scopes: %(s)s") % {"s": ", ".join(unknown)}
        )
    beyond = [s for s in chosen if not actor.may(s)]
    if beyond:
        message = _("You cannot grant what you may not do yourself: %(s)s") % {"s": ", ".join(beyond)}
        raise Forbidden(
            message, code="permission_denied", fields=[FieldError("scopes", "scope_not_allowed", message)]
        )
    if expires_at is not None and expires_at <= clock.now():
        raise ValidationFailed.single("expires_at", "in_the_past", _("The expiry time has already passed."))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[:10],
        digest=_digest(secret),
        scopes=chosen,
        expires_at=expires_at,
    )
    _changed(actor, token, "created", {"user": user.username, "scopes": chosen, "expires_at": expires_at})
    return token, secret


def tokens_of(actor: Actor) -> QuerySet[ApiToken]:
    """The actor's own tokens, newest first."""
    if actor.user is None:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=actor.user)


def get_token_for(actor: Actor, token_id: int) -> ApiToken:
    """A token the actor may manage: their own, or anyone's for a staff manager."""
    token = ApiToken.objects.filter(pk=token_id).first()
    if token is None or (token.user_id != actor.user_id and not actor.may(Perm.STAFF_MANAGE)):
        raise NotFound(_("No token #%(id)d.") % {"id": token_id}, code="token_not_found")
    return token


def authenticate_token(secret: str) -> Actor | None:
    """The actor behind a bearer secret, or None for an unknown, revoked or expired token."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(secret), revoked_at__isnull=True)
        .first()
    )
    moment = clock.now()
    if token is None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= moment:
        return None
    # One write a minute at most: a busy client must not turn every read into a write.
    if token.last_used_at is None or (moment - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=moment)
    allowed = token.user.permissions & frozenset(token.scopes)
    return Actor(user=token.user, permissions=allowed, token_id=token.pk)


@transaction.atomic
def revoke_token(*, actor: Actor, token: ApiToken) -> None:
    if token.user_id != actor.user_id:
        actor.require(Perm.STAFF_MANAGE)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        _changed(actor, token, "revoked", {"user": token.user.username})


def list_teams_for(actor: Actor) -> QuerySet[Team]:
    """Every team, by name."""
    actor.require(Perm.STAFF_VIEW)
    return Team.objects.order_by("name")


def remember_language(*, actor: Actor, language: str) -> None:
    """Keep the interface language a person chose on their own profile, so every sign-in opens in it."""
    user = actor.user
    if user is None:
        return  # a machine client has no interface to speak in
    if language not in Language.values:
        raise ValidationFailed.single("language", "unknown_language", _("Unknown language."))
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
