"""The platform shell: health check, API documentation served offline, safe settings defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.http import HttpResponseBase, StreamingHttpResponse
from django.test import Client
from typer.testing import CliRunner

from forewarn.settings import public_url


@pytest.mark.django_db
def test_health_reports_the_database() -> None:
    answer = Client().get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": connection.vendor}


@pytest.mark.django_db
def test_api_docs_are_served_without_any_outside_address() -> None:
    page = Client().get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn." not in page
    assert "https://" not in page


@pytest.mark.django_db
def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _value in pairs]
    duplicated = {key for key in keys if keys.count(key) > 1}
    assert not duplicated, f"duplicate keys in the schema: {duplicated}"
    return dict(pairs)


def test_openapi_describes_the_customer_endpoints_and_auth() -> None:
    # Parsed strictly: a key written twice (which json.loads quietly keeps once) breaks Swagger UI.
    raw = Client().get("/api/v1/openapi.json").content
    schema = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    assert {
        "/api/v1/customers",
        "/api/v1/customers/{customer_id}",
        "/api/v1/merges",
        "/api/v1/imports",
    } <= set(schema["paths"])
    assert "BearerToken" in schema["components"]["securitySchemes"]


def _settings_in_fresh_process(env: dict[str, str], *names: str) -> list[object]:
    """Read settings in a new interpreter, so the environment is read as at start-up."""
    code = (
        "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'forewarn.settings'; django.setup();"
        f" from django.conf import settings as s; print(json.dumps([{', '.join(names)}], default=str))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
    done = subprocess.run(  # noqa: S603 - the test's own interpreter
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    values = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(values, list)
    return values


def test_defaults_are_safe_and_the_generated_secret_key_is_kept(tmp_path: Path) -> None:
    env = {"FOREWARN_DATA_DIR": str(tmp_path)}
    debug, key, hasher, engine = _settings_in_fresh_process(
        env, "s.DEBUG", "s.SECRET_KEY", "s.PASSWORD_HASHERS[0]", "s.DATABASES['default']['ENGINE']"
    )
    (again,) = _settings_in_fresh_process(env, "s.SECRET_KEY")
    assert debug is False
    assert key == again
    assert len(str(key)) >= 50
    assert "Argon2" in str(hasher)
    assert engine == "django.db.backends.sqlite3"
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_database_and_debug_come_from_the_environment(tmp_path: Path) -> None:
    env = {
        "FOREWARN_DATA_DIR": str(tmp_path),
        "FOREWARN_DEBUG": "true",
        "FOREWARN_DATABASE_URL": "postgres://someone@db.internal:5433/care",
        "FOREWARN_SECRET_KEY": "configured-key",
    }
    shown = _settings_in_fresh_process(
        env, "s.DEBUG", "s.SECRET_KEY", "s.DATABASES['default']['HOST']", "s.DATABASES['default']['PORT']"
    )
    assert shown == [True, "configured-key", "db.internal", 5433]
    assert not (tmp_path / "secret_key").exists()


def test_links_in_messages_follow_the_port_served_on_when_no_public_url_is_set(tmp_path: Path) -> None:
    served = {"FOREWARN_DATA_DIR": str(tmp_path), "FOREWARN_HOST": "127.0.0.1", "FOREWARN_PORT": "8101"}
    assert _settings_in_fresh_process(served, "s.FOREWARN_PUBLIC_URL") == ["http://127.0.0.1:8101"]
    configured = {**served, "FOREWARN_PUBLIC_URL": "https://care.example.com/"}
    assert _settings_in_fresh_process(configured, "s.FOREWARN_PUBLIC_URL") == ["https://care.example.com"]


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"FOREWARN_PORT": "8101"}, "http://127.0.0.1:8101"),
        ({"FOREWARN_HOST": "localhost", "FOREWARN_PORT": "9000"}, "http://localhost:9000"),
        # Listening on every address: links name this machine (a real installation sets its public URL).
        ({"FOREWARN_HOST": "0.0.0.0", "FOREWARN_PORT": "8101"}, "http://127.0.0.1:8101"),  # noqa: S104 - a value read, nothing bound
        ({"FOREWARN_HOST": "::1", "FOREWARN_PORT": "8101"}, "http://[::1]:8101"),
        (
            {"FOREWARN_PUBLIC_URL": " https://care.example.com/ ", "FOREWARN_PORT": "8101"},
            "https://care.example.com",
        ),
        ({"FOREWARN_PUBLIC_URL": "", "FOREWARN_PORT": "8101"}, "http://127.0.0.1:8101"),
    ],
)
def test_the_public_url_is_the_one_set_or_where_the_server_listens(environ: dict[str, str], url: str) -> None:
    assert public_url(environ) == url


def test_serve_hands_the_address_it_listens_on_to_the_processes_that_write_links(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    from forewarn import cli

    for name in ("FOREWARN_HOST", "FOREWARN_PORT"):
        monkeypatch.setenv(name, "unset")  # restored when the test ends
    seen: dict[str, str] = {}
    monkeypatch.setattr(cli, "_call", lambda *_args: None)  # no collectstatic here
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **_kwargs: seen.update(os.environ))
    result = CliRunner().invoke(cli.app, ["serve", "--host", "127.0.0.1", "--port", "8101", "--no-worker"])
    assert result.exit_code == 0, result.output
    assert public_url(seen) == "http://127.0.0.1:8101"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/customers", "/api/"])
def test_unknown_api_paths_answer_in_the_error_shape(path: str) -> None:
    answer = Client().post(path)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_a_wrong_method_on_an_api_path_answers_in_the_error_shape() -> None:
    answer = Client().put("/api/v1/customers")
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"
    assert set(answer["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_english_dates_read_day_month_year_on_a_24_hour_clock() -> None:
    from datetime import datetime

    from django.utils import formats, translation

    moment = datetime(2026, 11, 23, 14, 5)  # noqa: DTZ001 - formatting only
    with translation.override("en"):
        assert formats.date_format(moment, "DATETIME_FORMAT") == "23 Nov 2026, 14:05"
        assert formats.date_format(moment, "SHORT_DATE_FORMAT") == "23.11.2026"
    with translation.override("uk"):
        assert formats.date_format(moment, "SHORT_DATE_FORMAT") == "23.11.2026"


def test_the_icon_is_served_where_browsers_look_for_it() -> None:
    answer = Client().get("/favicon.ico", follow=True)
    assert answer.status_code == 200
    served: HttpResponseBase = answer  # the view's own response: a file streams, a page does not
    assert b"<svg" in (served.getvalue() if isinstance(served, StreamingHttpResponse) else answer.content)
