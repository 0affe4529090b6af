"""De-duplication against DynamoDB (moto server): exactly one invocation processes a frame, a copy that
loses the race costs one write, and a creator that dies before claiming is taken over."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from pynamodb.connection import base as pynamodb_base

from functions.network.dedup import TAKEOVER_WINDOWS, collect
from functions.network.receptions import Reception

WINDOW_S = 0.2


def reception(gateway_id: str, uplink_id: int, snr: float = 5.0) -> Reception:
    return Reception.from_dict(
        {
            "phyPayload": base64.b64encode(b"\x40frame").decode(),
            "gateway_id": gateway_id,
            "topic_prefix": "eu868",
            "uplink_id": uplink_id,
            "frequency": 868_100_000,
            "data_rate": 5,
            "rssi": -60,
            "snr": snr,
            "context": "",
            "received_at_ms": 1_700_000_000_000,
            "rx_info": {"gatewayId": gateway_id},
            "tx_info": {},
        }
    )


@pytest.fixture
def requests(dynamodb: str) -> Iterator[Counter[str]]:
    """DynamoDB requests by operation while the test runs."""
    counted: Counter[str] = Counter()
    original = pynamodb_base.Connection._make_api_call

    def counting(self: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        counted[operation_name] += 1
        return original(self, operation_name, operation_kwargs)

    pynamodb_base.Connection._make_api_call = counting  # type: ignore[method-assign]
    yield counted
    pynamodb_base.Connection._make_api_call = original  # type: ignore[method-assign]


def test_the_creator_processes_every_copy_and_a_copy_costs_one_write(requests: Counter[str]) -> None:
    """The copies arrive while the creator waits out its window; each is one UpdateItem and returns."""
    copies = [reception("0016c001ff10a236", 2, snr=9.0), reception("0016c001ff10a237", 3, snr=1.0)]
    statuses: list[str] = []

    def window(_seconds: float) -> None:  # while the creator waits, the other gateways' copies arrive
        for copy in copies:
            requests.clear()
            statuses.append(collect(copy, window_s=WINDOW_S, sleep=lambda _s: None).status)
            assert requests == Counter({"UpdateItem": 1})
        requests.clear()

    outcome = collect(reception("0016c001ff10a235", 1), window_s=WINDOW_S, sleep=window)
    assert statuses == ["duplicate", "duplicate"]
    assert outcome.status == "process" and requests == Counter({"UpdateItem": 1})  # the claim
    assert [r.gateway_id for r in outcome.receptions] == ["0016c001ff10a236", "0016c001ff10a235",
                                                          "0016c001ff10a237"]  # fmt: skip
    # A retried invocation of a copy adds nothing twice; after the claim it is late.
    again = collect(copies[0], window_s=WINDOW_S, sleep=lambda _s: None)
    assert again.status == "late"


class Died(Exception):
    """The creator's invocation ends inside its window (timeout, crash)."""


def _die(_seconds: float) -> None:
    raise Died


def test_a_creator_that_died_before_claiming_is_taken_over(requests: Counter[str]) -> None:
    start = 1_800_000_000.0
    with pytest.raises(Died):
        collect(reception("0016c001ff10a235", 1), window_s=WINDOW_S, clock=lambda: start, sleep=_die)
    # A copy while the creator may still be alive leaves it the frame ...
    soon = collect(reception("0016c001ff10a236", 2), window_s=WINDOW_S, clock=lambda: start + WINDOW_S)
    assert soon.status == "duplicate"
    # ... one after three windows takes over, with every reception, and only it.
    later = start + TAKEOVER_WINDOWS * WINDOW_S + 0.01
    requests.clear()
    outcome = collect(reception("0016c001ff10a237", 3), window_s=WINDOW_S, clock=lambda: later)
    assert outcome.status == "process" and len(outcome.receptions) == 3
    assert requests == Counter({"UpdateItem": 2})  # its reception, then the claim
    retried = collect(reception("0016c001ff10a235", 1), window_s=WINDOW_S, clock=lambda: later)
    assert retried.status == "late"  # the creator's retry after the takeover does not process it again
    taker = collect(reception("0016c001ff10a237", 3), window_s=WINDOW_S, clock=lambda: later)
    assert taker.resumed and taker.deduplication_id == outcome.deduplication_id  # the taker's own retry


def test_a_reception_delivered_again_after_its_claim_is_resumed(requests: Counter[str]) -> None:
    """MQTT and Lambda's asynchronous invocations are at least once: the function may get the same
    reception again (a retry after it died, or a second delivery). The item is claimed by that
    reception: the frame is resumed under the same deduplication id (the pipeline applies it at most
    once), while another gateway's copy is late."""
    start = 1_800_000_000.0
    first = collect(
        reception("0016c001ff10a235", 1), window_s=WINDOW_S, clock=lambda: start, sleep=lambda _s: None
    )
    assert first.status == "process" and not first.resumed
    for delay in (WINDOW_S, TAKEOVER_WINDOWS * WINDOW_S + 0.01, 30.0):
        again = collect(
            reception("0016c001ff10a235", 1), window_s=WINDOW_S, clock=lambda d=delay: start + d,
            sleep=lambda _s: None,
        )  # fmt: skip
        assert (again.status, again.resumed) == ("process", True), delay
        assert again.deduplication_id == first.deduplication_id
        assert again.receptions == first.receptions
    other = collect(reception("0016c001ff10a236", 2), window_s=WINDOW_S, clock=lambda: start + 1)
    assert other.status == "late"
