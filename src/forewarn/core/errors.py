"""Errors that services raise and every surface (API, UI, CLI) shows the same way.

Each carries an HTTP status, a stable machine ``code``, a human ``message`` (translated where it is shown
to people) and, where fields are at fault, their paths. The API renders all of them in one JSON shape::

    {"error": {"code": "validation_failed", "message": "...",
               "fields": [{"path": "identities.0.value", "code": "phone_invalid", "message": "..."}]}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class FieldError:
    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}

    def under(self, prefix: str) -> FieldError:
        return FieldError(f"{prefix}.{self.path}" if self.path else prefix, self.code, self.message)


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, fields: list[FieldError] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "fields": [f.as_dict() for f in self.fields],
            }
        }


class ValidationFailed(ServiceError):
    status = 422
    code = "validation_failed"

    def __init__(self, fields: list[FieldError], message: str | None = None) -> None:
        super().__init__(message or _("Some fields are not valid."), fields=fields)

    @classmethod
    def single(cls, path: str, code: str, message: str) -> ValidationFailed:
        return cls([FieldError(path, code, message)], message)


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"
