"""Who a draft goes to (bot.core.drafting.resolve_recipients): roles among the order's own
contacts, never an address that bounced; nobody left means no draft can be made."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.core.decision import Action, Decision
from bot.core.drafting import resolve_recipients
from bot.core.model import Contact, Order
from bot.services.letters import Letter, NoWorkingAddressError, compose

BUYER = "buyer@acme.example"
FINANCE = "finance@acme.example"
BOSS = "ceo@acme.example"


def order(*contacts: Contact) -> Order:
    return Order(
        order_id="PO-1",
        customer_email="Buyer@Acme.example",
        customer_name="Acme",
        amount=Decimal("100.00"),
        currency="EUR",
        due_date=None,
        contacts=contacts,
    )


FULL = order(
    Contact(FINANCE, "Fin", "finance"),
    Contact(BOSS, "Boss", "decision_maker"),
)


def test_without_bounces_the_roles_decide() -> None:
    r = resolve_recipients(FULL, ("buyer", "finance"))
    assert (r.to, r.cc, r.skipped) == ((BUYER, FINANCE), (), ())


def test_a_bounced_finance_address_is_skipped() -> None:
    r = resolve_recipients(FULL, ("buyer", "finance"), bounced={FINANCE})
    assert r.to == (BUYER,)
    assert r.skipped == (FINANCE,)
    assert not r.nobody


def test_bounced_addresses_match_whatever_their_case() -> None:
    r = resolve_recipients(FULL, ("buyer", "finance"), bounced={"Finance@ACME.example "})
    assert r.to == (BUYER,)


def test_when_the_named_roles_all_bounced_the_next_working_person_gets_it() -> None:
    r = resolve_recipients(FULL, ("buyer",), bounced={BUYER})
    assert r.to == (FINANCE,)  # finance before the decision maker
    assert r.skipped == (BUYER,)
    r = resolve_recipients(FULL, ("buyer", "finance"), bounced={BUYER, FINANCE})
    assert r.to == (BOSS,)


def test_every_address_bounced_leaves_nobody() -> None:
    r = resolve_recipients(
        FULL,
        ("buyer", "finance", "manager"),
        manager="boss@supplier.example",
        bounced={BUYER, FINANCE, BOSS},
    )
    assert r.nobody and r.to == ()
    assert r.skipped == (BUYER, FINANCE)
    alone = resolve_recipients(order(), ("buyer",), bounced={BUYER})
    assert alone.nobody


def test_a_role_the_order_lacks_falls_back_to_the_buyer() -> None:
    r = resolve_recipients(order(), ("decision_maker",))
    assert r.to == (BUYER,)


def test_the_manager_is_in_copy_only_when_named() -> None:
    named = resolve_recipients(FULL, ("buyer", "manager"), manager="Boss@Supplier.example")
    assert named.cc == ("boss@supplier.example",)
    assert resolve_recipients(FULL, ("buyer",), manager="boss@supplier.example").cc == ()


def test_a_contact_listed_twice_is_written_to_once() -> None:
    twice = order(Contact(BUYER, "Again", "finance"), Contact(FINANCE, "Fin", "finance"))
    assert resolve_recipients(twice, ("buyer", "finance")).to == (BUYER, FINANCE)


class _Mail:
    def __init__(self) -> None:
        self.subject, self.body, self.language = "Reminder", "Dear Acme,\n\nPO-1.\n", "en"


class _Renderer:
    def render(self, name: str, language: str, context: object) -> _Mail:
        return _Mail()


def _letter(roles: tuple[str, ...]) -> Letter:
    now = datetime(2026, 3, 10, 10, tzinfo=UTC)
    decision = Decision(
        Action.FOLLOW_UP,
        now,
        "due",
        "due-date-reminder",
        template="due-date-reminder",
        mode="draft",
        recipients=roles,
    )
    return Letter(FULL, decision, ())


def test_compose_skips_bounced_and_says_so() -> None:
    draft = compose(
        [_letter(("buyer", "finance"))],
        _Renderer(),
        None,
        now=datetime(2026, 3, 10, tzinfo=UTC),
        bounced={FINANCE},
    )
    assert draft.to == (BUYER,)
    assert f"not to {FINANCE} (bounced)" in draft.reason


def test_compose_never_makes_a_draft_to_nobody() -> None:
    with pytest.raises(NoWorkingAddressError, match="every address bounced"):
        compose(
            [_letter(("buyer", "finance"))],
            _Renderer(),
            None,
            now=datetime(2026, 3, 10, tzinfo=UTC),
            bounced={BUYER, FINANCE, BOSS},
        )
