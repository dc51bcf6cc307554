"""What the inbox search finds, on both databases: words in any of their forms (Ukrainian, Russian,
English), in what was written and in the subject; the customer by name in either script, by phone in any
format and by e-mail; a ticket by its number. Never a ticket the agent may not see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import Team, User
from forewarn.core import morphology
from forewarn.customers.models import Customer
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, create_customer
from forewarn.inbox.models import Ticket
from forewarn.inbox.services.intake.email import receive_email
from forewarn.inbox.services.tickets import TicketFilters, find_tickets

from .test_email import mail

SYSTEM = Actor.system("test")


def _ticket(body: str, subject: str, sender: str = "Марія Петренко <maria.petrenko@example.com>") -> Ticket:
    received = receive_email(mail(body, subject=subject, sender=sender).as_bytes())
    assert received.ticket_id is not None
    return Ticket.objects.get(pk=received.ticket_id)


def _found(user: User, q: str) -> set[int]:
    return {t.pk for t in find_tickets(Actor.of(user), TicketFilters(view="all", q=q)).rows}


@pytest.fixture
def karas(db: None) -> Customer:
    return create_customer(
        actor=SYSTEM,
        data=ProfileIn(
            given_name="Остап",
            family_name="Карась",
            language="uk",
            identities=[
                IdentityIn(kind="phone", value="+380 50 765 43 21"),
                IdentityIn(kind="email", value="ostap.karas@example.com"),
            ],
        ),
    )


def test_a_word_finds_its_other_forms_in_what_was_written(olena: User, maria: Customer) -> None:
    bill = _ticket("Помилка в рахунку за листопад", "Питання")
    russian = _ticket("Неправильно выставлен счёт за интернет", "Вопрос")
    english = _ticket("I was billed twice for deliveries", "Question")
    other = _ticket("Дякую, усе добре", "Подяка")
    assert _found(olena, "рахунок") == {bill.pk}
    assert _found(olena, "рахунками") == {bill.pk}
    assert _found(olena, "счета") == {russian.pk}
    assert _found(olena, "счет") == {russian.pk}  # ё written as е
    assert _found(olena, "billing delivery") == {english.pk}
    assert other.pk not in _found(olena, "рахунок")


def test_the_subject_is_searched_in_its_forms_too(olena: User, maria: Customer) -> None:
    down = [_ticket("Нічого не працює з ранку", "Не працює інтернет") for _ in range(3)]
    _ticket("Де посилка?", "Доставка")
    assert _found(olena, "інтернет") == {t.pk for t in down}
    assert _found(olena, "інтернету") == {t.pk for t in down}
    assert _found(olena, "інтерн") == {t.pk for t in down}  # the last word, as it is typed


def test_a_customer_is_found_by_name_phone_and_email_in_any_spelling(
    olena: User, maria: Customer, karas: Customer
) -> None:
    his = _ticket("Коли підключите?", "Підключення", sender="Остап Карась <ostap.karas@example.com>")
    _ticket("Де посилка?", "Доставка")
    assert his.customer_id == karas.pk
    for q in ("Карась", "карась", "Karas", "Остап Карась", "050 765 43 21", "+380507654321", "ostap.karas"):
        assert _found(olena, q) == {his.pk}, q


def test_a_ticket_is_found_by_its_number(olena: User, maria: Customer) -> None:
    first, second = _ticket("Питання один", "Перше"), _ticket("Питання два", "Друге")
    assert first.pk in _found(olena, f"#{first.pk}")
    assert second.pk not in _found(olena, f"#{first.pk}")
    assert first.pk in _found(olena, str(first.pk))


def test_what_the_search_finds_beside_words_stays_within_what_one_may_see(
    olena: User, taras: User, maria: Customer, karas: Customer, api_as: Callable[..., Any]
) -> None:
    billing = Team.objects.create(name="Billing")
    hidden = _ticket("Рахунок", "Не працює інтернет", sender="Остап Карась <ostap.karas@example.com>")
    Ticket.objects.filter(pk=hidden.pk).update(team=billing)
    for q in ("Карась", "інтернет", f"#{hidden.pk}", "050 765 43 21"):
        assert hidden.pk not in _found(olena, q), q
        assert hidden.pk in _found(taras, q), q
    listed = api_as(olena).get("/api/v1/tickets", q="Карась").json()["items"]
    assert hidden.pk not in {t["id"] for t in listed}


def test_the_inbox_page_and_the_api_search_the_same_way(
    olena: User, maria: Customer, api_as: Callable[..., Any]
) -> None:
    down = _ticket("Нічого не працює", "Не працює інтернет")
    browser = Client()
    browser.force_login(olena)
    page = browser.get("/inbox/?q=інтернету").content.decode()
    assert f"/inbox/{down.pk}/" in page
    listed = api_as(olena).get("/api/v1/tickets", q="інтернету").json()["items"]
    assert [t["id"] for t in listed] == [down.pk]


def test_the_forms_of_a_word_follow_its_language() -> None:
    assert {"рахунок", "рахунку", "рахунками"} <= set(morphology.forms_of("рахунок"))
    assert {"счёт", "счета", "счет"} <= set(morphology.forms_of("счёт"))
    assert "їжа" in morphology.forms_of("їжі")  # і and ї: Ukrainian only
    assert morphology.forms_of("wifi") == ("wifi",)  # Latin words are matched by prefix instead
    assert morphology.prefix_of("deliveries") == "deliver"
    assert morphology.prefix_of("bill") == ""
    bill, typed = morphology.terms("рахунок інтерн")
    assert (bill.prefixes, bill.forms) == (("рахун",), ())  # one stem for the whole paradigm
    assert typed.prefixes == ("інтерн",)
    food = morphology.term_for("їжа")
    assert food.prefixes == ()
    assert {"їжа", "їжі"} <= set(food.forms)
