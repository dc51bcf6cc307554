"""What every provider's callbacks share: the opt-out words, and a provider that is not expected to call.

Each provider's own callbacks are tested beside its sending (test_twilio.py, test_telegram.py,
test_viber.py, test_webhook.py), with the same questions: a genuine callback becomes the right events; a
missing, wrong or unverifiable signature and a body changed after signing are refused; a signed but
unreadable body is malformed.
"""

from __future__ import annotations

import pytest

from forewarn.channels.callbacks import SignatureInvalid, is_opt_out, parse_callback


@pytest.mark.parametrize(
    "text", ["STOP", " stop ", "Unsubscribe", "СТОП", "стоп\n", "Відписатися", "ВІДПИСАТИСЯ", "отписаться"]
)
def test_opt_out_words_are_recognised_whatever_their_case(text: str) -> None:
    assert is_opt_out(text)


@pytest.mark.parametrize("text", ["stop sending me ads", "STOPP", "", "не стоп", "Дякую"])
def test_only_the_whole_message_is_an_opt_out(text: str) -> None:
    assert not is_opt_out(text)


def test_an_unknown_provider_cannot_be_verified() -> None:
    with pytest.raises(SignatureInvalid):
        parse_callback("pigeon", url="https://care.example/callbacks/pigeon", headers={}, body=b"{}")
