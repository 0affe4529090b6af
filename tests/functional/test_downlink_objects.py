"""Downlinks given as an object (ChirpStack's `object` in DownlinkCommand, and the REST queue) are encoded
by the device profile's codec; without a codec, or when it fails, nothing is queued and the application
is told why."""

from __future__ import annotations

from typing import Any

import pytest

from functions.appserver import queue
from functions.appserver.downlinks import handle_mqtt_command
from functions.appserver.models import Device, DeviceProfile
from tests.support.api import call, make_tenant, ok

DEV_EUI = "0004a30b001c0530"
ENCODER = """
function encodeDownlink(input) {
  if (typeof input.data.interval !== "number") { return { errors: ["interval is required"] }; }
  return { bytes: [input.data.interval >> 8, input.data.interval & 0xff], fPort: 5 };
}
"""


def setup_device(kind: str, script: str = "") -> None:
    DeviceProfile("p" * 32, org_id="o" * 32, name="x", codec_kind=kind, codec_script=script).save()
    Device(DEV_EUI, application_id="a" * 32, org_id="o" * 32, device_profile_id="p" * 32).save()


def command(**fields: Any) -> dict[str, Any]:
    return {"devEui": DEV_EUI, "topic_application_id": "a" * 32, "topic_dev_eui": DEV_EUI} | fields


def test_an_object_over_mqtt_is_encoded_by_the_javascript_codec(dynamodb: str) -> None:
    setup_device("javascript", ENCODER)
    published: list[tuple[str, dict[str, Any]]] = []
    assert handle_mqtt_command(command(object={"interval": 600}), lambda t, m: published.append((t, m)))
    (item,) = queue.pending(DEV_EUI)
    assert (item.f_port, item.payload) == (5, bytes([0x02, 0x58])) and published == []


@pytest.mark.parametrize(
    ("kind", "script", "obj", "reason"),
    [
        ("javascript", ENCODER, {"interval": "soon"}, "interval is required"),
        ("javascript", "while (true) {}", {"interval": 1}, "codec"),
        ("none", "", {"interval": 1}, "no codec"),
    ],
)
def test_an_object_that_cannot_be_encoded_is_a_log_event(
    dynamodb: str, kind: str, script: str, obj: dict[str, Any], reason: str
) -> None:
    setup_device(kind, script)
    published: list[tuple[str, dict[str, Any]]] = []
    assert handle_mqtt_command(command(object=obj, fPort=5), lambda t, m: published.append((t, m))) is None
    ((topic, event),) = published
    assert topic.endswith("/event/log") and reason in event["description"]
    assert queue.pending(DEV_EUI) == []


def test_an_object_over_rest(dynamodb: str, admin_key: str) -> None:
    acme = make_tenant(admin_key, "Acme")
    profile = ok("POST", "/device-profiles", {"organization_id": acme.org_id, "name": "js",
                 "codec": {"kind": "javascript", "script": ENCODER}}, acme.admin, 201)  # fmt: skip
    dev_eui = acme.ids["dev_eui"]
    ok("PUT", f"/devices/{dev_eui}", {"name": "one", "device_profile_id": profile["id"]}, acme.admin)
    ok("POST", f"/devices/{dev_eui}/queue", {"object": {"interval": 60}}, acme.device_admin, 201)
    (item,) = ok("GET", f"/devices/{dev_eui}/queue", token=acme.viewer)["items"]
    assert (item["f_port"], item["data"]) == (5, "ADw=")
    status, answer = call("POST", f"/devices/{dev_eui}/queue", {"object": {}}, acme.admin)
    assert status == 400 and "interval is required" in answer["message"]
