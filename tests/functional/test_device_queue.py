"""The device queue as ChirpStack v4 documents it, against DynamoDB on moto: one transmission per item;
a confirmed item acknowledged or given up at the next uplink (or after the class C timeout), and the
queue moves on; an unconfirmed one done when the gateway sent it; a refused transmission back in line;
expired items dropped unsent and reported; FPending when more waits."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from functions.appserver import queue
from functions.appserver.models import Device

DEV_EUI = "0004a30b001c0531"


def fill(*items: tuple[int, bool]) -> list[str]:
    Device(DEV_EUI, application_id="a" * 32).save()
    return [queue.enqueue(DEV_EUI, port, bytes([port]), confirmed=confirmed) for port, confirmed in items]


def test_a_confirmed_item_is_acknowledged_at_the_next_uplink(dynamodb: str) -> None:
    first, second = fill((1, True), (2, False))
    start = queue.head(DEV_EUI, ack=False)
    assert [i.queue_item_id for i in start.items] == [first, second] and start.f_pending
    queue.mark_sent(DEV_EUI, start.items[0].item_id, 7)
    assert queue.transmitted(DEV_EUI, first) is not None  # the gateway sent it; it waits for the ACK
    after = queue.head(DEV_EUI, ack=True)
    assert after.acknowledged is not None and after.acknowledged.queue_item_id == first
    assert after.acknowledged.f_cnt == 7 and [i.queue_item_id for i in after.items] == [second]
    assert not after.f_pending


def test_an_unacknowledged_confirmed_item_is_given_up_and_the_queue_moves_on(dynamodb: str) -> None:
    first, second = fill((1, True), (2, False))
    queue.mark_sent(DEV_EUI, queue.head(DEV_EUI, ack=False).items[0].item_id, 3)
    after = queue.head(DEV_EUI, ack=False)  # the next uplink does not acknowledge it
    assert [i.queue_item_id for i in after.unacknowledged] == [first] and after.acknowledged is None
    assert [i.queue_item_id for i in after.items] == [second]
    assert queue.head(DEV_EUI, ack=False).unacknowledged == []  # reported once


def test_class_c_waits_for_the_answer_then_gives_up_after_the_timeout(dynamodb: str) -> None:
    first, _ = fill((1, True), (2, False))
    sent_at = time.time()
    queue.mark_sent(DEV_EUI, queue.head(DEV_EUI, ack=None).items[0].item_id, 3, now=sent_at)
    waiting = queue.head(DEV_EUI, ack=None, now=sent_at + 1)
    assert waiting.waiting is not None and waiting.items == []  # nothing else goes meanwhile
    late = queue.head(DEV_EUI, ack=None, now=sent_at + queue.CLASS_C_TIMEOUT_S + 1)
    assert [i.queue_item_id for i in late.unacknowledged] == [first] and len(late.items) == 1


def test_a_transmission_the_gateway_refused_keeps_the_item_first_in_line(dynamodb: str) -> None:
    first, second = fill((1, False), (2, False))
    queue.mark_sent(DEV_EUI, queue.head(DEV_EUI, ack=False).items[0].item_id, 3)
    assert queue.not_transmitted(DEV_EUI, first) is True
    again = queue.head(DEV_EUI, ack=False)
    assert [i.queue_item_id for i in again.items] == [first, second] and again.items[0].f_cnt is None
    assert again.unacknowledged == []


def test_an_unconfirmed_item_is_done_once_the_gateway_sent_it(dynamodb: str) -> None:
    first, second = fill((1, False), (2, False))
    queue.mark_sent(DEV_EUI, queue.head(DEV_EUI, ack=False).items[0].item_id, 3)
    sent = queue.transmitted(DEV_EUI, first)
    assert sent is not None and not sent.confirmed
    assert [i.queue_item_id for i in queue.head(DEV_EUI, ack=False).items] == [second]
    # Without a TX acknowledgement (some forwarders send none) the next uplink counts it as sent.
    queue.mark_sent(DEV_EUI, queue.head(DEV_EUI, ack=False).items[0].item_id, 4)
    after = queue.head(DEV_EUI, ack=False)
    assert after.items == [] and after.unacknowledged == []


def test_expired_items_are_dropped_unsent_and_reported(dynamodb: str) -> None:
    Device(DEV_EUI, application_id="a" * 32).save()
    soon = datetime.now(UTC) + timedelta(seconds=30)
    gone = queue.enqueue(DEV_EUI, 1, b"\x01", expires_at=soon)
    kept = queue.enqueue(DEV_EUI, 2, b"\x02")
    later = queue.head(DEV_EUI, ack=False, now=soon.timestamp() + 1)
    assert [i.queue_item_id for i in later.expired] == [gone]
    assert [i.queue_item_id for i in later.items] == [kept]


def test_the_sent_mark_is_a_claim_only_one_invocation_gets(dynamodb: str) -> None:
    """Two invocations of one device can both read the same head (the second re-runs after a conflicting
    session write before the first marked it): only the first mark holds, so the item goes out once."""
    (first,) = fill((1, True))
    seen_by_both = queue.head(DEV_EUI, ack=False).items[0]
    assert queue.mark_sent(DEV_EUI, seen_by_both.item_id, 3) is True
    assert queue.mark_sent(DEV_EUI, seen_by_both.item_id, 4) is False
    (kept,) = queue.pending(DEV_EUI)
    assert (kept.queue_item_id, kept.f_cnt) == (first, 3)  # the first sender's counter, not overwritten
    queue.flush(DEV_EUI)
    assert queue.mark_sent(DEV_EUI, seen_by_both.item_id, 5) is False  # gone: not recreated
    assert queue.pending(DEV_EUI) == []
