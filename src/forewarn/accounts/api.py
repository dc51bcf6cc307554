"""Who am I, and my API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import AwareDatetime, Field

from forewarn.accounts import services
from forewarn.accounts.actors import actor_of
from forewarn.accounts.models import ApiToken
from forewarn.core.http import InputSchema
from forewarn.core.idempotency import NOT_REPLAYED

router = Router(tags=["staff"])


class MeOut(Schema):
    id: int | None
    username: str
    role: str
    permissions: list[str]
    token_id: int | None


class TokenIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] | None = None
    # A time without its offset would be read in whatever zone the server runs in.
    expires_at: AwareDatetime | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    secret: str


@router.get("/me", response=MeOut, summary="The caller and what it may do")
def me(request: HttpRequest) -> dict[str, Any]:
    actor = actor_of(request)
    return {
        "id": actor.user_id,
        "username": actor.user.username if actor.user else actor.label,
        "role": actor.user.role if actor.user else "system",
        "permissions": sorted(actor.permissions),
        "token_id": actor.token_id,
    }


@router.get("/tokens", response=list[TokenOut], summary="My API tokens")
def list_tokens(request: HttpRequest) -> list[ApiToken]:
    return list(services.tokens_of(actor_of(request)))


@router.post(
    "/tokens",
    response={201: NewTokenOut},
    summary="Issue a token (the secret is shown once)",
    openapi_extra=NOT_REPLAYED,  # a secret is never stored to be shown again
)
def create_token(request: HttpRequest, payload: TokenIn) -> Status[dict[str, Any]]:
    actor = actor_of(request)
    assert actor.user is not None
    token, secret = services.issue_token(
        actor=actor,
        user=actor.user,
        name=payload.name,
        scopes=payload.scopes,
        expires_at=payload.expires_at,
    )
    return Status(201, {**TokenOut.model_validate(token).model_dump(), "secret": secret})


@router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke a token")
def revoke_token(request: HttpRequest, token_id: int) -> Status[None]:
    actor = actor_of(request)
    services.revoke_token(actor=actor, token=services.get_token_for(actor, token_id))
    return Status(204, None)
