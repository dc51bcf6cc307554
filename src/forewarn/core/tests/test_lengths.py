"""How long a text may be where it goes: an SMS counted in parts (GSM-7 or UCS-2), every other channel
and a note in characters, each with its longest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forewarn.core import lengths


@pytest.mark.parametrize(
    ("text", "encoding", "length", "parts"),
    [
        ("a" * 160, "gsm7", 160, 1),
        ("a" * 161, "gsm7", 161, 2),
        ("a" * 306, "gsm7", 306, 2),
        ("a" * 307, "gsm7", 307, 3),
        ("€" * 80, "gsm7", 160, 1),  # an extension character takes two
        ("{" * 81, "gsm7", 162, 2),
        ("Завтра до 18:00.", "ucs2", 16, 1),
        ("я" * 70, "ucs2", 70, 1),
        ("я" * 71, "ucs2", 71, 2),
        ("я" * 134, "ucs2", 134, 2),
        ("я" * 135, "ucs2", 135, 3),
        ("Hello 👋", "ucs2", 8, 1),  # one character outside GSM-7 makes it all UCS-2; the emoji takes two
        ("", "gsm7", 0, 1),
    ],
)
def test_an_sms_takes_its_parts_by_its_alphabet(text: str, encoding: str, length: int, parts: int) -> None:
    found = lengths.sms(text)
    assert (found.encoding, found.length, found.parts) == (encoding, length, parts)


def test_ten_parts_is_the_longest_sms() -> None:
    assert not lengths.sms("a" * 1530).too_long
    assert lengths.sms("a" * 1531).too_long
    assert not lengths.sms("я" * 670).too_long
    assert lengths.sms("я" * 671).too_long


@given(st.text(max_size=400))
def test_a_part_holds_what_its_encoding_says(text: str) -> None:
    found = lengths.sms(text)
    assert found.parts is not None
    assert found.per_part is not None
    assert found.length <= found.parts * found.per_part
    if found.parts > 1:
        assert found.length > lengths.SMS_SINGLE[found.encoding]
        assert found.length > (found.parts - 1) * found.per_part


@pytest.mark.parametrize(
    ("channel", "longest"), [("telegram", 4096), ("viber", 7000), ("webchat", 4000), ("email", 50_000)]
)
def test_each_channel_takes_its_longest_and_not_a_character_more(channel: str, longest: int) -> None:
    assert lengths.refusal("x" * longest, channel=channel) is None
    refused = lengths.refusal("x" * (longest + 1), channel=channel)
    assert refused is not None
    assert (refused.path, refused.code) == ("text", "too_long")
    assert f"{longest}" in refused.message


def test_a_note_has_its_own_longest_whatever_the_channel() -> None:
    assert lengths.refusal("x" * 20_000, channel="sms", note=True) is None
    refused = lengths.refusal("x" * 20_001, channel="sms", note=True)
    assert refused is not None
    assert refused.message == "A note can be at most 20000 characters; this one has 20001."


def test_a_refused_sms_says_how_many_parts_it_would_take() -> None:
    refused = lengths.refusal("я" * 700, channel="sms")
    assert refused is not None
    assert refused.message == (
        "An SMS answer can take at most 10 parts; this one would take 11 "
        "(67 characters a part, Cyrillic or other letters beyond plain Latin)."
    )
