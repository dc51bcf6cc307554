"""The contract every settings resource keeps over the API, checked the same way for each: the helpdesk's
business calendars, SLA policies, routing rules and canned replies, the engine's triggers, and the topics
customers consent to (the administrator's).

Created, it reads back as it was answered and is listed; changed, the change is answered, read back and
the rest kept; refused, the error names the field at fault and nothing is kept; the same
``Idempotency-Key`` creates one; an unknown id is 404 on every route; deleted, it is gone; every change
is in the audit log. A new settings resource gets a row in ``RESOURCES`` and so the whole contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db.models import Model

from forewarn.accounts.models import Team, User
from forewarn.core.models import Topic
from forewarn.engage.models import Trigger
from forewarn.inbox.models import BusinessCalendar, CannedReply, RoutingRule, SlaPolicy
from forewarn.privacy.models import AuditAction, AuditEntry

UNKNOWN_ID = 987_654_321


@dataclass(frozen=True)
class Resource:
    name: str
    path: str
    model: type[Model]
    create: Callable[[dict[str, Any]], dict[str, Any]]  # a good body, given the world
    change: dict[str, Any]  # a change's fields (all of a PUT's body is create's with these)
    invalid: dict[str, Any]  # fields that make a body refused ...
    invalid_path: str  # ... and the path the refusal names
    change_method: str = "patch"
    paged: bool = True  # a list is a page (items, count, limit, offset, next_offset)
    deletes: bool = True
    not_null: str = ""  # a PATCH may not set this to null
    ignored: frozenset[str] = field(default_factory=frozenset)  # answered fields a read may differ in
    keeper: str = "taras"  # who keeps them: supervisor taras, or admin ada


def _trigger(world: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"Parcel on its way {world['n']}",
        "event_type": "order_shipped",
        "topic": "transactional",
        "templates": [{"language": "uk", "body": "{{ customer.first_name }}, замовлення в дорозі."}],
    }


RESOURCES = [
    Resource(
        "calendars",
        "/api/v1/inbox/calendars",
        BusinessCalendar,
        lambda w: {"name": f"Office {w['n']}", "country": "UA", "hours": {"mon": ["09:00-18:00"]}},
        change={"hours": {"mon": ["10:00-19:00"], "tue": ["10:00-19:00"]}},
        invalid={"time_zone": "Mars/Olympus"},
        invalid_path="time_zone",
        not_null="name",
    ),
    Resource(
        "sla-policies",
        "/api/v1/inbox/sla-policies",
        SlaPolicy,
        lambda w: {"name": f"Standard {w['n']}", "first_response_minutes": 60, "resolution_minutes": 480},
        change={"first_response_minutes": 30, "priority": "high"},
        invalid={"resolution_minutes": -5},
        invalid_path="resolution_minutes",
        not_null="rank",
    ),
    Resource(
        "routing-rules",
        "/api/v1/inbox/routing-rules",
        RoutingRule,
        lambda w: {"team_id": w["team"].pk, "channel": "email", "rank": 10 + w["n"]},
        change={"language": "uk", "tag": "billing"},
        invalid={"team_id": UNKNOWN_ID},
        invalid_path="team_id",
        not_null="team_id",
    ),
    Resource(
        "canned-replies",
        "/api/v1/inbox/canned-replies",
        CannedReply,
        lambda w: {
            "title": "Parcel late",
            "shortcut": f"parcel-late-{w['n']}",
            "language": "uk",
            "body": "{{ customer.first_name }}, посилка затримується.",
        },
        change={"body": "Вибачте, {{ customer.first_name }}: посилка вже в дорозі."},
        invalid={"body": "{{ customer.card_number }}"},
        invalid_path="body",
        not_null="title",
    ),
    Resource(
        "topics",
        "/api/v1/policy/topics",
        Topic,
        lambda w: {"code": f"news_{w['n']}", "names": {"uk": "Новини", "en": "News"}, "opt_in": True},
        change={"names": {"uk": "Новини компанії", "en": "Company news"}, "opt_in": False},
        invalid={"code": "Company News"},
        invalid_path="code",
        paged=False,
        deletes=False,
        not_null="names",
        ignored=frozenset({"name"}),  # the name in the reader's language, of the names changed
        keeper="ada",
    ),
    Resource(
        "triggers",
        "/api/v1/triggers",
        Trigger,
        _trigger,
        change={"priority": 70, "wait_seconds": 600},
        invalid={"topic": "gossip"},
        invalid_path="topic",
        change_method="put",
        paged=False,
        deletes=False,
        ignored=frozenset({"updated_at"}),
    ),
]


@pytest.fixture
def world(api_as: Callable[..., Any], taras: User, ada: User, resource: Resource) -> dict[str, Any]:
    """Who keeps the resource (supervisor taras the helpdesk and the triggers, admin ada the topics), a
    team to route to, and how many rows there were before (the built-in topics)."""
    keeper = {"taras": taras, "ada": ada}[resource.keeper]
    before = resource.model.objects.count()  # type: ignore[attr-defined]
    return {"api": api_as(keeper), "team": Team.objects.create(name="Support"), "n": 0, "before": before}


def _rows(resource: Resource, world: dict[str, Any]) -> int:
    """How many rows the tests made."""
    return int(resource.model.objects.count()) - int(world["before"])  # type: ignore[attr-defined]


def _body(resource: Resource, world: dict[str, Any], n: int = 0) -> dict[str, Any]:
    return resource.create({**world, "n": n})


def _one(resource: Resource, item_id: int) -> str:
    return f"{resource.path}/{item_id}"


def _items(resource: Resource, answer: Any) -> list[dict[str, Any]]:
    payload = answer.json()
    return payload["items"] if resource.paged else payload  # type: ignore[no-any-return]


def _same(resource: Resource, a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {k: v for k, v in a.items() if k not in resource.ignored} == {
        k: v for k, v in b.items() if k not in resource.ignored
    }


def _holds(answered: Any, sent: Any) -> bool:
    """What was sent is in the answer; the answer may add defaults (a template's channel, say)."""
    if isinstance(sent, dict):
        return isinstance(answered, dict) and all(
            k in answered and _holds(answered[k], v) for k, v in sent.items()
        )
    if isinstance(sent, list):
        return isinstance(answered, list) and len(answered) == len(sent) and all(map(_holds, answered, sent))
    return bool(answered == sent)


def _settings_audited() -> int:
    return AuditEntry.objects.filter(action=AuditAction.SETTING).count()


def _created(resource: Resource, world: dict[str, Any], n: int = 0) -> dict[str, Any]:
    answer = world["api"].post(resource.path, _body(resource, world, n))
    assert answer.status_code == 201, answer.content
    return answer.json()  # type: ignore[no-any-return]


def _changed(resource: Resource, world: dict[str, Any], item: dict[str, Any]) -> Any:
    if resource.change_method == "put":
        return world["api"].put(_one(resource, item["id"]), {**_body(resource, world), **resource.change})
    return world["api"].patch(_one(resource, item["id"]), resource.change)


params = pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)


@params
def test_a_created_one_reads_back_as_it_was_answered_and_is_listed(
    resource: Resource, world: dict[str, Any]
) -> None:
    body = _body(resource, world)
    item = _created(resource, world)
    assert isinstance(item["id"], int)
    assert _holds(item, body)
    read = world["api"].get(_one(resource, item["id"]))
    assert read.status_code == 200
    assert read.json() == item
    listed = world["api"].get(resource.path)
    assert listed.status_code == 200
    assert [row for row in _items(resource, listed) if row["id"] == item["id"]] == [item]
    assert _rows(resource, world) == 1


@params
def test_a_change_is_answered_read_back_and_keeps_the_rest(resource: Resource, world: dict[str, Any]) -> None:
    item = _created(resource, world)
    answer = _changed(resource, world, item)
    assert answer.status_code == 200, answer.content
    changed = answer.json()
    assert {k: changed[k] for k in resource.change} == resource.change
    kept = set(item) - set(resource.change) - resource.ignored
    assert {k: changed[k] for k in kept} == {k: item[k] for k in kept}
    assert _same(resource, world["api"].get(_one(resource, item["id"])).json(), changed)


@params
def test_a_refused_create_names_the_field_at_fault_and_keeps_nothing(
    resource: Resource, world: dict[str, Any]
) -> None:
    audited = _settings_audited()
    answer = world["api"].post(resource.path, {**_body(resource, world), **resource.invalid})
    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert error["code"] == "validation_failed"
    assert resource.invalid_path in {f["path"] for f in error["fields"]}
    assert _rows(resource, world) == 0
    assert _settings_audited() == audited


@params
def test_a_refused_change_keeps_what_was_saved(resource: Resource, world: dict[str, Any]) -> None:
    item = _created(resource, world)
    audited = _settings_audited()
    if resource.change_method == "put":
        answer = world["api"].put(_one(resource, item["id"]), {**_body(resource, world), **resource.invalid})
    else:
        answer = world["api"].patch(_one(resource, item["id"]), {**resource.change, **resource.invalid})
    assert answer.status_code == 422, answer.content
    assert resource.invalid_path in {f["path"] for f in answer.json()["error"]["fields"]}
    assert world["api"].get(_one(resource, item["id"])).json() == item
    assert _settings_audited() == audited


@params
def test_a_patch_may_not_empty_a_field_that_must_have_a_value(
    resource: Resource, world: dict[str, Any]
) -> None:
    if not resource.not_null:
        pytest.skip(f"{resource.name} is replaced whole, not patched")
    item = _created(resource, world)
    answer = world["api"].patch(_one(resource, item["id"]), {resource.not_null: None})
    assert answer.status_code == 422
    assert [f["path"] for f in answer.json()["error"]["fields"]] == [resource.not_null]
    assert world["api"].get(_one(resource, item["id"])).json() == item


@params
def test_the_same_idempotency_key_creates_one(resource: Resource, world: dict[str, Any]) -> None:
    key = {"Idempotency-Key": f"{resource.name}-create-1"}
    first = world["api"].post(resource.path, _body(resource, world), headers=key)
    again = world["api"].post(resource.path, _body(resource, world), headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    other = world["api"].post(resource.path, _body(resource, world, 1), headers=key)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert _rows(resource, world) == 1


@params
def test_an_unknown_id_is_not_found_on_every_route(resource: Resource, world: dict[str, Any]) -> None:
    item = _created(resource, world)
    missing = {**item, "id": UNKNOWN_ID}
    answers = [world["api"].get(_one(resource, UNKNOWN_ID)), _changed(resource, world, missing)]
    if resource.deletes:
        answers.append(world["api"].delete(_one(resource, UNKNOWN_ID)))
    for answer in answers:
        assert answer.status_code == 404, answer.content
        assert answer.json()["error"]["code"].endswith("not_found")
    assert world["api"].get(_one(resource, item["id"])).json() == item


@params
def test_a_deleted_one_is_gone_from_every_route(resource: Resource, world: dict[str, Any]) -> None:
    if not resource.deletes:
        pytest.skip(f"{resource.name} are deactivated, not deleted")
    item = _created(resource, world)
    assert world["api"].delete(_one(resource, item["id"])).status_code == 204
    assert world["api"].get(_one(resource, item["id"])).status_code == 404
    assert item["id"] not in {row["id"] for row in _items(resource, world["api"].get(resource.path))}
    assert world["api"].delete(_one(resource, item["id"])).status_code == 404
    assert _rows(resource, world) == 0


@params
def test_every_change_is_in_the_audit_log(resource: Resource, world: dict[str, Any]) -> None:
    audited = _settings_audited()
    item = _created(resource, world)
    assert _settings_audited() == audited + 1
    assert _changed(resource, world, item).status_code == 200
    assert _settings_audited() == audited + 2
    if resource.deletes:
        world["api"].delete(_one(resource, item["id"]))
        assert _settings_audited() == audited + 3


@params
def test_a_list_comes_in_pages(resource: Resource, world: dict[str, Any]) -> None:
    if not resource.paged:
        pytest.skip(f"{resource.name} are listed whole")
    ids = [_created(resource, world, n)["id"] for n in range(3)]
    first = world["api"].get(resource.path, limit=2).json()
    assert (first["count"], first["limit"], first["offset"], first["next_offset"]) == (3, 2, 0, 2)
    rest = world["api"].get(resource.path, limit=2, offset=2).json()
    assert rest["next_offset"] is None
    assert sorted(row["id"] for row in first["items"] + rest["items"]) == sorted(ids)
