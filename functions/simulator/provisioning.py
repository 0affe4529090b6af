"""The one place where tests, benchmarks and the simulator talk to the REST API to provision devices and
read them back (contract: `docs/rest-api.md`). End-to-end tests, the local-cloud benchmark, `make run
--simulate` and `loraless-simulator --register` go through these functions only, so a change of the API
is absorbed here and nowhere else.

The API is multi-tenant: organizations hold applications and device profiles, a device belongs to an
application and has a profile (region, MAC version, class C support). `provision_device` finds or makes
the organization `ORGANIZATION`, the application named `application` in it and a profile matching the
device's radio options, then creates the device. A device's MQTT topics carry its application's id
(`application_topic`), and an application's MQTT identity is that id too.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from functions.simulator.fleet import FleetSettings, gateway_ids, make_device

ORGANIZATION = "loraless-tests"
DEFAULT_APPLICATION = "e2e"
TEST_APPLICATIONS = (DEFAULT_APPLICATION, "weather")  # the e2e tests' applications

# (api_url, token, kind, name) -> id, so a fleet of devices costs one device creation each
_known: dict[tuple[str, str, str, str], str] = {}


class ProvisioningError(AssertionError):
    """The API refused a call a test relies on; carries the status and the answer for the failure line."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} -> {status}: {body}")
        self.status = status
        self.body = body


def admin_token(data_dir: Path) -> str:
    """A bearer token with global-admin rights on a local cloud started with `data_dir`."""
    from localcloud.cloud import local_admin_api_key

    return local_admin_api_key(data_dir)


def api_call(
    api_url: str, token: str, method: str, path: str, body: Any = None, *, timeout_s: float = 30
) -> tuple[int, Any]:
    """One request; (status, decoded JSON or None). 4xx and 5xx answers are returned, not raised."""
    request = urllib.request.Request(
        f"{api_url.rstrip('/')}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw or b"null")
        except json.JSONDecodeError:
            return error.code, raw.decode(errors="replace")


def _expect(api_url: str, token: str, method: str, path: str, body: Any, *statuses: int) -> Any:
    status, answer = api_call(api_url, token, method, path, body)
    if status not in statuses:
        raise ProvisioningError(method, path, status, answer)
    return answer


def _find_or_create(
    api_url: str, token: str, kind: str, name: str, list_path: str, create: dict[str, Any]
) -> str:
    """The id of the `kind` called `name` (listed under `list_path`), created with `create` if missing."""
    cached = _known.get((api_url, token, kind, name))
    if cached is not None:
        return cached
    separator = "&" if "?" in list_path else "?"
    cursor: str | None = None
    while True:
        parameters: dict[str, Any] = {"search": name, "limit": 100} | ({"cursor": cursor} if cursor else {})
        query = urllib.parse.urlencode(parameters)
        listed = _expect(api_url, token, "GET", f"{list_path}{separator}{query}", None, 200)
        found = next((item["id"] for item in listed["items"] if item["name"] == name), None)
        cursor = listed.get("next_cursor")
        if found is not None or not cursor:
            break
    if found is None:
        path = list_path.split("?", maxsplit=1)[0]
        found = _expect(api_url, token, "POST", path, {"name": name, **create}, 201)["id"]
    _known[(api_url, token, kind, name)] = str(found)
    return str(found)


def application_id(api_url: str, token: str, application: str = DEFAULT_APPLICATION) -> str:
    """The id of the application named `application` in the tests' organization (made when missing)."""
    organization = _find_or_create(api_url, token, "organization", ORGANIZATION, "/organizations", {})
    return _find_or_create(
        api_url, token, "application", application, f"/applications?organization_id={organization}",
        {"organization_id": organization},
    )  # fmt: skip


def set_http_integration(api_url: str, token: str, url: str, application: str = DEFAULT_APPLICATION) -> None:
    """Send every event of the application to `url` too (ChirpStack's HTTP integration, `?event=<type>`)."""
    app = application_id(api_url, token, application)
    _expect(api_url, token, "PUT", f"/applications/{app}/integrations/http", {"url": url}, 200)


def device_profile_id(
    api_url: str, token: str, *, region: str, mac_version: str, supports_class_c: bool
) -> str:
    """The id of the tests' OTAA device profile for these radio options (made when missing)."""
    organization = _find_or_create(api_url, token, "organization", ORGANIZATION, "/organizations", {})
    name = f"{region} {mac_version} class {'C' if supports_class_c else 'A'}"
    profile = {"organization_id": organization, "region": region, "mac_version": mac_version,
               "supports_otaa": True, "supports_class_c": supports_class_c}  # fmt: skip
    return _find_or_create(
        api_url, token, "device profile", name, f"/device-profiles?organization_id={organization}", profile
    )


def provision_device(
    api_url: str,
    token: str,
    *,
    dev_eui: str,
    join_eui: str,
    app_key: str,
    nwk_key: str | None = None,
    name: str,
    application: str = DEFAULT_APPLICATION,
    mac_version: str = "1.0.3",
    region: str = "EU868",
    supports_class_c: bool = False,
    profile_id: str | None = None,
) -> dict[str, Any]:
    """Create an OTAA device; returns the API's view of it (`application_id` names its MQTT topics). Its
    profile is `profile_id`, or the tests' shared profile for its radio options."""
    body: dict[str, Any] = {
        "dev_eui": dev_eui,
        "join_eui": join_eui,
        "name": name,
        "application_id": application_id(api_url, token, application),
        "device_profile_id": profile_id
        or device_profile_id(
            api_url, token, region=region, mac_version=mac_version, supports_class_c=supports_class_c
        ),
        "app_key": app_key,
    }
    if nwk_key is not None:
        body["nwk_key"] = nwk_key
    created: dict[str, Any] = _expect(api_url, token, "POST", "/devices", body, 201)
    return created


def register_gateway(api_url: str, token: str, gateway_id: str) -> None:
    """Register a gateway with the tests' organization (the network refuses frames of unknown gateways,
    as ChirpStack does); a gateway already registered is left as it is."""
    organization = _find_or_create(api_url, token, "organization", ORGANIZATION, "/organizations", {})
    body = {"gateway_id": gateway_id, "organization_id": organization, "name": f"gateway {gateway_id}"}
    _expect(api_url, token, "POST", "/gateways", body, 201, 409)


def create_device_profile(api_url: str, token: str, name: str, **fields: Any) -> dict[str, Any]:
    """A device profile of the tests' organization of its own (for tests that change it)."""
    organization = _find_or_create(api_url, token, "organization", ORGANIZATION, "/organizations", {})
    body = {"organization_id": organization, "name": name} | fields
    created: dict[str, Any] = _expect(api_url, token, "POST", "/device-profiles", body, 201)
    return created


def update_device_profile(api_url: str, token: str, profile_id: str, **changes: Any) -> dict[str, Any]:
    """Change some fields of a device profile (the others as they are)."""
    profile = _expect(api_url, token, "GET", f"/device-profiles/{profile_id}", None, 200)
    body = {k: v for k, v in profile.items() if k not in ("id", "organization_id")} | changes
    updated: dict[str, Any] = _expect(api_url, token, "PUT", f"/device-profiles/{profile_id}", body, 200)
    return updated


def device_mac(api_url: str, token: str, dev_eui: str) -> dict[str, Any]:
    """What the network wants the device to use and what the device acknowledged."""
    mac: dict[str, Any] = _expect(api_url, token, "GET", f"/devices/{dev_eui}/mac", None, 200)
    return mac


def get_device(api_url: str, token: str, dev_eui: str) -> dict[str, Any]:
    """The API's view of a device: `activated`, `dev_addr`, `f_cnt_up` (next expected FCntUp), ..."""
    device: dict[str, Any] = _expect(api_url, token, "GET", f"/devices/{dev_eui}", None, 200)
    return device


def enqueue_downlink(
    api_url: str, token: str, dev_eui: str, *, f_port: int, data: bytes, confirmed: bool = False
) -> str:
    """Queue an application downlink through the API; returns the queue item's id."""
    body = {"f_port": f_port, "data": base64.b64encode(data).decode(), "confirmed": confirmed}
    created = _expect(api_url, token, "POST", f"/devices/{dev_eui}/queue", body, 201)
    return str(created["id"])


def application_topic(device: dict[str, Any], event: str = "+") -> str:
    """The MQTT topic of one of the device's application events (ChirpStack v4 integration layout)."""
    return f"application/{device['application_id']}/device/{device['dev_eui']}/event/{event}"


SIMULATOR_ORGANIZATION = "Simulator"


def provision_fleet(
    api_url: str, token: str, settings: FleetSettings, *, organization: str = SIMULATOR_ORGANIZATION
) -> dict[str, str]:
    """Register the simulator's gateways and devices through the API, as a user would for real ones: the
    network refuses frames of unknown gateways and devices. ABP devices are (re)activated with the session
    the simulator starts from (counters at 0, as a simulated device restarts them); OTAA devices get the
    AppKey. Anything already registered stays. Returns the organization's and application's ids."""
    org = _find_or_create(api_url, token, "organization", organization, "/organizations", {})
    app = _find_or_create(
        api_url, token, "application", "Simulated devices", f"/applications?organization_id={org}",
        {"organization_id": org, "description": "the devices of `make run ARGS=--simulate N`"},
    )  # fmt: skip
    version = settings.lorawan_version if settings.otaa else "1.0.3"  # make_device's ABP devices: 1.0
    name = f"{settings.region} {version} {'OTAA' if settings.otaa else 'ABP'} (simulator)"
    profile = _find_or_create(
        api_url, token, "device profile", name, f"/device-profiles?organization_id={org}",
        {"organization_id": org, "region": settings.region, "mac_version": version,
         "supports_otaa": settings.otaa, "codec": {"kind": "cayenne_lpp"}},
    )  # fmt: skip
    for gateway_id in gateway_ids(settings):
        body = {"gateway_id": gateway_id, "organization_id": org, "name": f"simulated {gateway_id}"}
        _expect(api_url, token, "POST", "/gateways", body, 201, 409)
    for index in range(settings.gateways * settings.devices_per_gateway):
        device = make_device(settings, index)
        dev_eui = str(device.dev_eui)
        body = {"dev_eui": dev_eui, "join_eui": str(device.join_eui), "name": f"simulated {index}",
                "application_id": app, "device_profile_id": profile}  # fmt: skip
        if settings.otaa:
            body["app_key"] = settings.app_key.hex()
            if settings.lorawan_version.startswith("1.1"):
                body["nwk_key"] = settings.app_key.hex()
        _expect(api_url, token, "POST", "/devices", body, 201, 409)
        session = device.session
        if session is not None:
            keys = {"dev_addr": str(session.dev_addr), "nwk_s_key": session.nwk_s_key.hex(),
                    "app_s_key": session.app_s_key.hex()}  # fmt: skip
            _expect(api_url, token, "POST", f"/devices/{dev_eui}/activate", keys, 204)
    return {"organization_id": org, "application_id": app}
