"""New staff and every API token issued or revoked go into the audit log; no secret or password does."""

from __future__ import annotations

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.accounts.roles import Role
from forewarn.accounts.services import create_staff_user, issue_token, revoke_token
from forewarn.privacy.models import AuditAction, AuditEntry


def test_staff_and_tokens_are_audited_without_their_secrets(ada: User, olena: User) -> None:
    admin = Actor.of(ada)
    before = AuditEntry.objects.filter(action=AuditAction.SETTING).count()
    password = "a-long-password-for-petro-7"
    petro = create_staff_user(
        actor=admin, username="petro", password=password, role=Role.AGENT, teams=["Billing"]
    )
    token, secret = issue_token(actor=admin, user=olena, name="crm", scopes=["customers.view"])
    revoke_token(actor=admin, token=token)
    revoke_token(actor=admin, token=token)  # already revoked: nothing happens, nothing is logged
    made, issued, revoked = AuditEntry.objects.filter(action=AuditAction.SETTING).order_by("seq")[before:]
    assert (made.detail["what"], made.detail["id"], made.detail["change"]) == (
        "accounts.user",
        petro.pk,
        "created",
    )
    assert made.detail["fields"] == {"username": "petro", "role": "agent", "teams": ["Billing"]}
    assert (issued.detail["what"], issued.detail["change"]) == ("accounts.apitoken", "created")
    assert issued.detail["fields"] == {"user": "olena", "scopes": ["customers.view"], "expires_at": None}
    assert (revoked.detail["id"], revoked.detail["change"]) == (token.pk, "revoked")
    assert {e.actor_user_id for e in (made, issued, revoked)} == {ada.pk}
    logged = str([e.detail for e in (made, issued, revoked)])
    assert secret not in logged
    assert password not in logged
