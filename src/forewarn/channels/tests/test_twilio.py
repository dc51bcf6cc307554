"""Twilio's SMS: the Messages API request against a real HTTP server on 127.0.0.1 and which answers are
worth a retry; its callbacks, each signature checked Twilio's way; its environment variables."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ImproperlyConfigured

from forewarn.channels.base import FailureCode, PermanentError, TransientError
from forewarn.channels.callbacks import CallbackEvent, MalformedCallback, SignatureInvalid, parse_callback
from forewarn.channels.inbound import Sender
from forewarn.channels.providers.twilio import TwilioSmsProvider, twilio_signature
from forewarn.channels.registry import providers_from_env
from forewarn.channels.tests.conftest import TEXT, FakeApi, outbound

TWILIO_TOKEN = "twilio-auth-token"
TWILIO_URL = "https://care.example/callbacks/twilio?channel=sms"


@pytest.fixture(autouse=True)
def _twilio_with_its_auth_token(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {
        "sms": {
            "provider": "twilio",
            "account_sid": "AC1",
            "auth_token": TWILIO_TOKEN,
            "from_number": "+15005550006",
        },
    }


# The provider as the tests set it up, at the base URL of the server it talks to (test_http.py too).
def twilio(base_url: str, **options: Any) -> TwilioSmsProvider:
    return TwilioSmsProvider(
        account_sid="AC0123456789abcdef",
        auth_token="twilio-secret",
        from_number="+15005550006",
        base_url=base_url,
        **options,
    )


# --- SMS (Twilio's Messages API) ----------------------------------------------------------------------------


def test_sms_is_a_form_post_to_the_account_s_messages_with_basic_auth(api: FakeApi) -> None:
    api.answer(201, {"sid": "SM8f2a", "status": "queued"})

    result = twilio(api.url, status_callback="https://care.example/callbacks/twilio").send(
        outbound("sms", "+380671234567")
    )

    seen = api.last
    assert (seen.method, seen.path) == ("POST", "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json")
    assert seen.header("Content-Type") == "application/x-www-form-urlencoded"
    expected_auth = base64.b64encode(b"AC0123456789abcdef:twilio-secret").decode()
    assert seen.header("Authorization") == f"Basic {expected_auth}"
    assert seen.header("Idempotency-Key") == "outbox:1042:sms"
    assert seen.form() == {
        "To": ["+380671234567"],
        "From": ["+15005550006"],
        "Body": [TEXT],
        "StatusCallback": ["https://care.example/callbacks/twilio"],
    }
    assert (result.provider, result.provider_message_id, result.duplicate) == ("twilio", "SM8f2a", False)


def test_sms_without_a_status_callback_does_not_ask_for_receipts(api: FakeApi) -> None:
    api.answer(201, {"sid": "SM1"})
    twilio(api.url).send(outbound("sms", "+380671234567"))
    assert "StatusCallback" not in api.last.form()


@pytest.mark.parametrize(
    ("twilio_code", "failure"),
    [(21211, FailureCode.ADDRESS_INVALID), (21610, FailureCode.RECIPIENT_BLOCKED)],
)
def test_sms_twilio_s_own_error_codes_name_the_permanent_failure(
    api: FakeApi, twilio_code: int, failure: str
) -> None:
    api.answer(400, {"code": twilio_code, "message": "refused", "status": 400})
    with pytest.raises(PermanentError) as refused:
        twilio(api.url).send(outbound("sms", "+380671234567"))
    assert refused.value.code == failure
    assert str(twilio_code) in str(refused.value)


def test_sms_wrong_credentials_are_a_settings_problem(api: FakeApi) -> None:
    api.answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
    with pytest.raises(PermanentError) as refused:
        twilio(api.url).send(outbound("sms", "+380671234567"))
    assert refused.value.code == FailureCode.PROVIDER_MISCONFIGURED


def test_sms_rate_limit_is_a_retry_after_the_time_asked(api: FakeApi) -> None:
    api.answer(429, {"code": 20429, "message": "Too Many Requests"}, headers={"Retry-After": "30"})
    with pytest.raises(TransientError) as limited:
        twilio(api.url).send(outbound("sms", "+380671234567"))
    assert limited.value.code == FailureCode.RATE_LIMITED
    assert limited.value.retry_after == 30.0


# --- Callbacks ----------------------------------------------------------------------------------------------


def test_twilio_signatures_match_twilio_s_published_example() -> None:
    # The example in Twilio's security documentation and its own library's tests.
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert (
        twilio_signature("12345", url.replace(".com", ".com:443"), params) == "kvajT1Ptam85bY51eRf/AJRuM3w="
    )


def twilio_post(
    form: dict[str, str], *, url: str = TWILIO_URL, signed_url: str | None = None, token: str = TWILIO_TOKEN
) -> tuple[dict[str, str], bytes]:
    signature = twilio_signature(token, signed_url or url, list(form.items()))
    return {"X-Twilio-Signature": signature}, urlencode(form).encode()


STATUS = {
    "MessageSid": "SM8f2a",
    "SmsSid": "SM8f2a",
    "AccountSid": "AC1",
    "From": "+15005550006",
    "To": "+380671234567",
    "MessageStatus": "delivered",
    "SmsStatus": "delivered",
    "ApiVersion": "2010-04-01",
}


def test_twilio_a_status_callback_is_a_receipt() -> None:
    headers, body = twilio_post(STATUS)

    events = parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)

    assert events == [
        CallbackEvent(
            kind="receipt",
            provider="twilio",
            channel="sms",
            provider_message_id="SM8f2a",
            address="+380671234567",
            status="delivered",
            raw=STATUS,
        )
    ]


def test_twilio_an_undelivered_message_is_a_failed_receipt_with_twilio_s_reason() -> None:
    headers, body = twilio_post({**STATUS, "MessageStatus": "undelivered", "ErrorCode": "30003"})
    (event,) = parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)
    assert (event.kind, event.status, event.reason) == ("receipt", "failed", "30003")


INBOUND = {
    "MessageSid": "SM77aa",
    "AccountSid": "AC1",
    "From": "+380671234567",
    "To": "+15005550006",
    "Body": "Дякую, чекатиму в четвер",
    "NumMedia": "0",
    "SmsStatus": "received",
}


def test_twilio_an_incoming_message_is_a_reply() -> None:
    headers, body = twilio_post(INBOUND)
    (event,) = parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)
    assert (event.kind, event.address, event.text, event.provider_message_id) == (
        "reply",
        "+380671234567",
        "Дякую, чекатиму в четвер",
        "SM77aa",
    )
    assert event.identities == (("phone", "+380671234567"),)


def test_twilio_an_incoming_message_says_the_sender_s_country() -> None:
    headers, body = twilio_post({**INBOUND, "FromCountry": "UA"})
    (event,) = parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)
    assert event.sender == Sender(country="UA")


@pytest.mark.parametrize("changes", [{"Body": "  Стоп "}, {"Body": "End", "OptOutType": "STOP"}])
def test_twilio_a_stop_message_is_an_opt_out(changes: dict[str, str]) -> None:
    headers, body = twilio_post({**INBOUND, **changes})
    (event,) = parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)
    assert (event.kind, event.address) == ("opt_out", "+380671234567")


def test_twilio_a_url_with_or_without_its_default_port_is_the_same_url() -> None:
    headers, body = twilio_post(STATUS, signed_url="https://care.example:443/callbacks/twilio?channel=sms")
    assert parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)[0].status == "delivered"
    headers, body = twilio_post(STATUS)
    with_port = "https://care.example:443/callbacks/twilio?channel=sms"
    assert parse_callback("twilio", url=with_port, headers=headers, body=body)[0].status == "delivered"


def test_twilio_behind_a_proxy_that_ends_tls_the_https_url_twilio_called_is_accepted() -> None:
    headers, body = twilio_post(STATUS)  # signed over https://care.example/...
    seen = "http://care.example/callbacks/twilio?channel=sms"
    assert parse_callback("twilio", url=seen, headers=headers, body=body)[0].status == "delivered"
    headers, body = twilio_post(STATUS, signed_url=seen)
    with pytest.raises(SignatureInvalid):  # and not the other way round: an https request is what it says
        parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)


def test_twilio_headers_may_come_in_any_case() -> None:
    headers, body = twilio_post(STATUS)
    lowered = {name.lower(): value for name, value in headers.items()}
    assert len(parse_callback("twilio", url=TWILIO_URL, headers=lowered, body=body)) == 1


@pytest.mark.parametrize(
    "forged",
    [
        # The body changed after Twilio signed it.
        lambda headers, body: (headers, body.replace(b"delivered", b"failed")),
        # Signed for another address.
        lambda headers, body: (
            twilio_post(STATUS, url="https://evil.example/callbacks/twilio?channel=sms")[0],
            body,
        ),
        # Signed with another account's token.
        lambda headers, body: (twilio_post(STATUS, token="someone-else")[0], body),
        # Not signed.
        lambda headers, body: ({}, body),
        # Not a signature at all.
        lambda headers, body: ({"X-Twilio-Signature": "Ω not base64"}, body),
    ],
)
def test_twilio_a_forged_callback_is_refused(forged: Any) -> None:
    headers, body = forged(*twilio_post(STATUS))
    with pytest.raises(SignatureInvalid):
        parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)


def test_twilio_callbacks_are_refused_when_twilio_is_not_configured(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {}
    headers, body = twilio_post(STATUS)
    with pytest.raises(SignatureInvalid):
        parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)


def test_twilio_a_signed_form_without_a_message_is_malformed() -> None:
    headers, body = twilio_post({"AccountSid": "AC1", "Foo": "bar"})
    with pytest.raises(MalformedCallback):
        parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)


def test_twilio_a_body_that_is_not_a_form_is_malformed() -> None:
    with pytest.raises(MalformedCallback):
        parse_callback("twilio", url=TWILIO_URL, headers={"X-Twilio-Signature": "x"}, body=b"\xff\xfe")


# --- From the environment -----------------------------------------------------------------------------------


def test_incomplete_environment_settings_are_named_without_their_secrets() -> None:
    with pytest.raises(ImproperlyConfigured, match="FOREWARN_SMS_TOKEN, FOREWARN_SMS_FROM"):
        providers_from_env({"FOREWARN_SMS_ACCOUNT": "AC1"})
