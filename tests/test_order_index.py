"""OrderIdIndex / OrderIndex answer exactly what the per-order comparisons answer, in list order."""

from __future__ import annotations

import itertools
from decimal import Decimal

from bot.core.conversations import OrderIndex
from bot.core.model import Contact, Order, OrderStatus
from bot.core.ordernumbers import OrderIdIndex, order_ids_in, same_order_number

IDS = [
    "PO-4711", "4711", "PI-4711", "po 4712", "SO-2024-0815", "so2024/0815", "47110", "AB",
    "X1", "PO#4711", "", "12-34", "1234", "INV4711A",
]  # fmt: skip
NUMBERS = [
    "4711", "PO-4711", "PI#4711", "po4712", "4712", "SO 2024/0815", "20240815", "47110",
    "PO-47110", "1234", "12 34", "INV-4711A", "AB", "", "###",
]  # fmt: skip
TEXTS = [
    "Payment for SO-2024-0815, thanks",
    "ref so2024/0815. and PO-4711 and inv4711a",
    "amount 4711 USD",
    "PO-47110 is another one; x1 is short",
    "",
]


def test_same_number_is_same_order_number_for_every_pair() -> None:
    index = OrderIdIndex.build(IDS)
    for number in NUMBERS:
        want = [pos for pos, i in enumerate(IDS) if same_order_number(number, i)]
        assert index.same_number(number) == want, number


def test_mentioned_in_is_order_ids_in() -> None:
    index = OrderIdIndex.build(IDS)
    for text in TEXTS:
        assert [IDS[p] for p in index.mentioned_in(text)] == order_ids_in(text, IDS), text


def order(order_id: str, email: str, status: OrderStatus, *contacts: str) -> Order:
    return Order(
        order_id=order_id, customer_email=email, customer_name="X", amount=Decimal(1),
        currency="USD", due_date=None, status=status, contacts=tuple(Contact(c) for c in contacts),
    )  # fmt: skip


def test_order_index_finds_active_orders_by_address_and_domain_in_list_order() -> None:
    orders = [
        order("PO-1", "Bob@Acme.test", OrderStatus.OPEN),
        order("PO-2", "carol@other.test", OrderStatus.PAID, "bob@acme.test"),
        order("PO-3", "dave@other.test", OrderStatus.PAUSED, "bob@acme.test"),
        order("PO-4", "erin@acme.test", OrderStatus.CLAIMED_PAID),
    ]
    index = OrderIndex.build(orders)
    by_address = index.at(p for p in index.by_address["bob@acme.test"])
    assert [o.order_id for o in by_address] == ["PO-1", "PO-3"]  # PO-2 is paid: not active
    by_domain = index.at(
        itertools.chain(index.by_domain["acme.test"], index.by_domain["other.test"])
    )
    assert [o.order_id for o in by_domain] == ["PO-1", "PO-3", "PO-4"]
