"""Background jobs for the inbox: thin wrappers that call services."""

from __future__ import annotations

from django_tasks import task

from forewarn.inbox.services import sla


@task()
def recompute_sla_clocks(policy_ids: list[int]) -> int:
    """The clocks of the tickets running under these policies, after a policy or its calendar changed."""
    return sla.recompute_policies(policy_ids)
