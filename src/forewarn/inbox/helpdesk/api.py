"""The helpdesk's setup over HTTP: business calendars, SLA policies, routing rules and canned replies.

Each setting has the same five routes (list, create, read one, change some fields, delete), built here
from its declaration in :mod:`forewarn.inbox.helpdesk.resources`; every one needs ``helpdesk.manage``.
Lists are pages (``limit``, ``offset``). Creates accept an ``Idempotency-Key``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from forewarn.accounts.actors import actor_of
from forewarn.core.http import Page, paginate
from forewarn.inbox.helpdesk.resources import SETTINGS, Setting

router = Router(tags=["inbox settings"])


def _view(name: str, call: Callable[..., Any], **params: Any) -> Callable[..., Any]:
    """A handler named ``name`` whose signature (what ninja reads to build the schema) has ``params``
    besides the request, each ``name=annotation``."""

    def view(request: HttpRequest, **values: Any) -> Any:
        return call(request, **values)

    view.__name__ = view.__qualname__ = name
    view.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=HttpRequest),
            *(
                inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
                for param, annotation in params.items()
            ),
        ]
    )
    return view


def add_routes(router: Router, setting: Setting[Any, Any]) -> None:
    """The five routes of one setting."""
    many, one = f"/inbox/{setting.key}", f"/inbox/{setting.key}/{{{setting.param}}}"
    created, patch = setting.input_schema(), setting.patch_schema()

    def list_rows(request: HttpRequest, filters: Any) -> dict[str, Any]:
        rows = setting.list(actor_of(request), filters)
        return paginate(rows, limit=filters.limit, offset=filters.offset, shape=lambda row: row)

    def create(request: HttpRequest, payload: Any) -> Status[Any]:
        return Status(201, setting.create(actor_of(request), setting.data(**payload.model_dump())))

    def read(request: HttpRequest, **path: int) -> Any:
        return setting.get(actor_of(request), path[setting.param])

    def change(request: HttpRequest, payload: Any, **path: int) -> Any:
        actor = actor_of(request)
        row = setting.get(actor, path[setting.param])
        data = setting.patched(setting.input_of(row), payload.model_dump(exclude_unset=True))
        return setting.update(actor, row, data)

    def delete(request: HttpRequest, **path: int) -> Status[Any]:
        actor = actor_of(request)
        row = setting.get(actor, path[setting.param])
        return Status(204, None) if setting.delete(actor, row) else Status(200, row)

    summary = setting.summaries
    page: Any = Page
    query: Any = Query
    router.get(many, response=page[setting.out], summary=summary["list"])(
        _view(f"list_{setting.many}", list_rows, filters=query[setting.filters])
    )
    router.post(many, response={201: setting.out}, summary=summary["create"])(
        _view(f"create_{setting.one}", create, payload=created)
    )
    router.get(one, response=setting.out, summary=summary["read"])(
        _view(f"read_{setting.one}", read, **{setting.param: int})
    )
    router.patch(one, response=setting.out, summary=summary["change"])(
        _view(f"change_{setting.one}", change, payload=patch, **{setting.param: int})
    )
    # A setting that is kept when things refer to it answers its deactivated self (200) instead of 204.
    deleted: dict[int, Any] = {204: None, 200: setting.out} if setting.deactivated else {204: None}
    router.delete(one, response=deleted, summary=summary["delete"])(
        _view(f"delete_{setting.one}", delete, **{setting.param: int})
    )


for _setting in SETTINGS:
    add_routes(router, _setting)
