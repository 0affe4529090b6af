"""The web interface in headless Chromium (Debian's, driven by Playwright) against the running local cloud:
an administrator logs in, makes an organization, a viewer, an application, a device profile and a device;
a simulated OTAA device's join and uplink appear live on the device page; a downlink is queued from the
form; a viewer sees the same pages read-only. Screenshots of the main pages go to tests/browser/artifacts/.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from functions.lorawan.device import EndDevice, EndDeviceSession, abp
from functions.lorawan.keys import session_keys_1_0
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID
from functions.simulator import provisioning
from functions.simulator.fleet import CAYENNE_TEMPERATURE, FleetSettings, make_device, run_fleet
from functions.simulator.radio import Air, NoDownlink
from localcloud.broker import Mosquitto
from localcloud.cloud import ADMIN_EMAIL, ROOT, CloudSettings, LocalCloud, local_admin_password
from localcloud.dynamodb import free_port
from tests.functional.test_bridge import running

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
WEB = ROOT / "web"
APP_KEY = AES128Key.parse("8899aabbccddeeff0011223344556677")
GATEWAY = "00800000a0000000"  # the simulated packet forwarder's (functions/simulator/fleet.py)
VIEWER, VIEWER_PASSWORD = "viewer@acme.example", "a viewer's password"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed (scripts/setup.sh installs it)"),
]


def build_web() -> None:
    """The bundle the local cloud serves (setup builds it; a test run from a fresh tree builds it here)."""
    if not (WEB / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, capture_output=True)
    subprocess.run(["node", "build.mjs"], cwd=WEB, check=True, capture_output=True)


@pytest.fixture(scope="module")
def cloud(broker: Mosquitto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    build_web()
    data = tmp_path_factory.mktemp("cloud")
    local = LocalCloud(broker, CloudSettings(data_dir=data, api_port=free_port(), concurrency=3)).start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def log_in(page: object, web: str, email: str, password: str) -> None:
    page.goto(web)  # type: ignore[attr-defined]
    page.get_by_label("E-mail", exact=True).fill(email)  # type: ignore[attr-defined]
    page.get_by_label("Password", exact=True).fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    playwright.expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # type: ignore[attr-defined]


class Fleet:
    """A simulated packet forwarder and OTAA device, on their own event loop, through a real bridge."""

    def __init__(self, broker: Mosquitto) -> None:
        self.broker = broker
        self.settings = FleetSettings(otaa=True, app_key=APP_KEY, interval_s=2.0)
        self.device = make_device(self.settings, 0)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> Fleet:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    async def _start(self) -> None:
        self.bridge = await running(self.broker)
        assert self.bridge.udp_address is not None
        self.settings.bridge = self.bridge.udp_address
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(run_fleet(self.settings, self.stop_event))

    async def _stop(self) -> None:
        self.stop_event.set()
        await self.task
        await self.bridge.stop()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)


def test_manage_and_watch_a_device_in_the_browser(
    cloud: LocalCloud, browser: object, broker: Mosquitto
) -> None:
    assert cloud.api is not None and cloud.api.web_url is not None
    web = cloud.api.web_url
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    expect = playwright.expect
    expect.set_options(timeout=20_000)

    log_in(page, web, ADMIN_EMAIL, local_admin_password(cloud.settings.data_dir))
    expect(page.get_by_text("You are not a member of any organization yet")).to_be_visible()
    shot(page, "01-no-organization")
    page.goto(f"{web}organizations")
    page.get_by_label("Name", exact=True).fill("Acme")
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("cell", name="Acme", exact=True)).to_be_visible()

    page.goto(f"{web}users/new")
    page.get_by_label("E-mail", exact=True).fill(VIEWER)
    page.get_by_label("Password", exact=True).fill(VIEWER_PASSWORD)
    page.get_by_role("button", name="Create user").click()
    page.goto(f"{web}members")
    page.get_by_label("E-mail", exact=True).fill(VIEWER)
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("cell", name=VIEWER)).to_be_visible()
    shot(page, "02-members")

    # A bad value is shown beside its field, and the form keeps what was typed.
    page.goto(f"{web}device-profiles/new")
    page.get_by_label("Name", exact=True).fill("EU868 sensors")
    page.get_by_label("RX1 delay (s)").fill("99")
    page.get_by_role("button", name="Create device profile").click()
    expect(page.locator(".field-error")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("EU868 sensors")
    page.get_by_label("RX1 delay (s)").fill("")
    page.get_by_label("Codec", exact=True).select_option("cayenne_lpp")
    page.get_by_role("button", name="Create device profile").click()
    expect(page.get_by_role("heading", name="EU868 sensors")).to_be_visible()
    shot(page, "03-device-profile")

    page.goto(f"{web}applications/new")
    page.get_by_label("Name", exact=True).fill("Weather")
    page.get_by_role("button", name="Create application").click()
    expect(page.get_by_role("heading", name="Weather")).to_be_visible()
    page.get_by_role("link", name="Add device").click()
    fleet = Fleet(broker)
    dev_eui = str(fleet.device.dev_eui)
    page.get_by_label("DevEUI").fill(dev_eui)
    page.get_by_label("JoinEUI (AppEUI)").fill(str(fleet.device.join_eui))
    page.get_by_label("Name", exact=True).fill("Roof")
    page.get_by_label("AppKey").fill(APP_KEY.hex())
    page.get_by_role("button", name="Create device").click()
    expect(page.get_by_role("heading", name="Roof")).to_be_visible()

    page.goto(f"{web}gateways/new")
    page.get_by_label("Gateway id (EUI-64)").fill(GATEWAY)
    page.get_by_label("Name", exact=True).fill("Roof gateway")
    page.get_by_label("Latitude").fill("52.37")
    page.get_by_label("Longitude").fill("4.89")
    page.get_by_role("button", name="Create gateway").click()
    expect(page.get_by_role("heading", name="Roof gateway")).to_be_visible()
    page.goto(f"{web}devices/{dev_eui}")
    expect(page.get_by_role("heading", name="Roof")).to_be_visible()

    fleet.start()
    try:
        events = page.get_by_role("table", name="Events")
        expect(events.get_by_text("join", exact=True).first).to_be_visible(timeout=60_000)
        expect(events.get_by_text("up", exact=True).first).to_be_visible(timeout=60_000)
        expect(page.locator(".facts").get_by_text("active", exact=True)).to_be_visible()  # state follows
        expect(page.locator(".facts").get_by_role("link", name="Weather")).to_be_visible()
        shot(page, "04-device-live")
        page.get_by_label("FPort").fill("10")
        page.get_by_label("Payload", exact=True).fill("01ff")
        page.get_by_role("button", name="Enqueue").click()
        expect(page.get_by_role("status")).to_contain_text("queued")
        for _ in range(60):  # the device gets it after one of its uplinks
            if fleet.settings.received:
                break
            page.wait_for_timeout(500)
        assert (dev_eui, 10, b"\x01\xff") in fleet.settings.received
        page.goto(f"{web}gateways/{GATEWAY}")
        expect(page.get_by_role("table", name="Events").get_by_text("conn", exact=True).first).to_be_visible()
        expect(page.get_by_role("img", name="Packets per hour")).to_be_visible()
        expect(page.get_by_role("img", name="Gateway positions")).to_be_visible()
        shot(page, "05-gateway")
        station = page.get_by_role("region", name="Basics Station")
        station.get_by_role("button", name="Issue token").click()
        expect(station.get_by_role("status")).to_contain_text("Authorization: Bearer ")
        expect(station.get_by_role("button", name="Rotate token")).to_be_visible()
        shot(page, "05-gateway-basics-station")
        page.goto(f"{web}applications")
        expect(page.get_by_role("link", name="Weather")).to_be_visible()
        shot(page, "05-applications")
    finally:
        fleet.stop()

    page.get_by_role("button", name="Sign out").click()
    log_in(page, web, VIEWER, VIEWER_PASSWORD)
    page.goto(f"{web}devices/{dev_eui}")
    expect(page.get_by_role("heading", name="Roof")).to_be_visible()
    expect(page.get_by_role("table", name="Events").get_by_text("up", exact=True).first).to_be_visible()
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)  # the page is there, its edit parts not
    expect(page.get_by_role("button", name="Enqueue")).to_have_count(0)
    expect(page.get_by_role("button", name="Save keys")).to_have_count(0)
    shot(page, "06-viewer-device")
    page.goto(f"{web}applications")
    expect(page.get_by_role("link", name="Weather")).to_be_visible()
    expect(page.get_by_role("link", name="Add application")).to_have_count(0)
    shot(page, "07-viewer-applications")
    page.close()


def _api_login(cloud: LocalCloud, email: str, password: str) -> int:
    import json
    import urllib.error
    import urllib.request

    assert cloud.api is not None
    request = urllib.request.Request(
        f"{cloud.api.url}/login", data=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_invite_accept_unlock_and_change_a_password_in_the_browser(
    cloud: LocalCloud, browser: object
) -> None:
    """Issue 15: membership by invitation the user accepts, a lockout an administrator lifts, and the
    current password asked for, all from the web interface."""
    assert cloud.api is not None and cloud.api.web_url is not None
    web = cloud.api.web_url
    expect = playwright.expect
    expect.set_options(timeout=20_000)
    boss, newcomer = (
        ("boss@initech.example", "the boss's password"),
        ("new@initech.example", "a newcomer's pw"),
    )
    admin = browser.new_context().new_page()  # type: ignore[attr-defined]
    log_in(admin, web, ADMIN_EMAIL, local_admin_password(cloud.settings.data_dir))
    admin.goto(f"{web}organizations")
    admin.get_by_label("Name", exact=True).fill("Initech")
    admin.get_by_role("button", name="Create organization").click()
    expect(admin.get_by_role("cell", name="Initech", exact=True)).to_be_visible()
    for email, password in (boss, newcomer):
        admin.goto(f"{web}users/new")
        admin.get_by_label("E-mail", exact=True).fill(email)
        admin.get_by_label("Password", exact=True).fill(password)
        admin.get_by_role("button", name="Create user").click()
        expect(admin.get_by_role("heading", name=email)).to_be_visible()
    # The header's switcher chooses the organization the members page works on (with others made by
    # earlier tests, the first in the list is not Initech).
    admin.get_by_label("Organization", exact=True).select_option(label="Initech")
    admin.goto(f"{web}members")
    expect(admin.get_by_text("Users of Initech and their roles")).to_be_visible()
    admin.get_by_label("E-mail", exact=True).fill(boss[0])
    admin.get_by_label("Role").select_option("admin")
    admin.get_by_role("button", name="Add member").click()
    expect(admin.get_by_role("cell", name=boss[0])).to_be_visible()

    # The organization's admin invites; nobody joins until the invited user accepts.
    org_admin = browser.new_context().new_page()  # type: ignore[attr-defined]
    log_in(org_admin, web, *boss)
    org_admin.goto(f"{web}members")
    org_admin.get_by_label("E-mail", exact=True).fill(newcomer[0])
    org_admin.get_by_role("button", name="Invite").click()
    expect(org_admin.get_by_text("Invited.")).to_be_visible()
    expect(org_admin.get_by_role("cell", name=newcomer[0])).to_be_visible()  # in the invitations table
    shot(org_admin, "06-invitation")
    user = browser.new_context().new_page()  # type: ignore[attr-defined]
    log_in(user, web, *newcomer)
    expect(user.get_by_text("You are not a member of any organization yet")).to_be_visible()
    user.goto(f"{web}account")
    expect(user.get_by_text("Initech invites you as viewer")).to_be_visible()
    user.get_by_role("button", name="Accept").click()
    expect(user.get_by_text("Initech: viewer")).to_be_visible()

    # Five wrong passwords lock the account; the administrator lifts the lock from the users page.
    assert [_api_login(cloud, newcomer[0], "wrong guess") for _ in range(6)][-1] == 429
    assert _api_login(cloud, newcomer[0], newcomer[1]) == 429
    admin.goto(f"{web}users")
    admin.get_by_role("row", name=newcomer[0]).get_by_role("button", name="Unlock").click()
    expect(admin.get_by_role("row", name=newcomer[0]).get_by_text("open")).to_be_visible()
    assert _api_login(cloud, newcomer[0], newcomer[1]) == 200

    # Changing one's own password needs the current one, and signs out.
    user.goto(f"{web}account")
    user.get_by_label("Current password").fill("not it at all")
    user.get_by_label("New password", exact=True).fill("a brand new password")
    user.get_by_label("New password again").fill("a brand new password")
    user.get_by_role("button", name="Change password").click()
    expect(user.locator(".error, .field-error").first).to_be_visible()
    user.get_by_label("Current password").fill(newcomer[1])
    user.get_by_role("button", name="Change password").click()
    expect(user.get_by_role("button", name="Sign in")).to_be_visible()
    assert _api_login(cloud, newcomer[0], "a brand new password") == 200


def _api(cloud: LocalCloud, method: str, path: str, body: object = None) -> Any:
    """One call with the local administrator's API key; fails the test on an error answer."""
    assert cloud.api is not None
    status, answer = provisioning.api_call(
        cloud.api.url, provisioning.admin_token(cloud.settings.data_dir), method, path, body
    )
    assert status < 300, (method, path, status, answer)
    return answer


async def _uplinks_until(
    broker: Mosquitto, gateway: str, device: EndDevice, done: Callable[[], bool], rounds: int = 12
) -> int:
    """Uplinks of `device` heard by `gateway` through a real bridge until `done()` (asked of the API after
    each), each answer (its MAC requests) given to the device, whose MAC answers ride in the next uplink.
    Returns how many uplinks it took."""
    bridge = await running(broker)
    assert bridge.udp_address is not None
    try:
        async with Air(bridge.udp_address, [gateway]) as air:
            for sent_count in range(1, rounds + 1):
                sent = air.transmit(device, device.uplink(1, CAYENNE_TEMPERATURE))
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    try:
                        heard = await air.downlink(max(0.1, deadline - time.monotonic()))
                    except NoDownlink:
                        break
                    if heard.answers is sent:
                        device.downlink(heard.phy_payload)
                        break
                await asyncio.sleep(1)
                if await asyncio.to_thread(done):
                    return sent_count
    finally:
        await bridge.stop()
    return rounds + 1


def test_edit_a_profiles_mac_settings_and_request_device_status_in_the_browser(
    cloud: LocalCloud, browser: object, broker: Mosquitto
) -> None:
    """Issue 14 item 4: a profile's MAC settings edited in the browser reach an active device's wanted
    state; the device page's one-shot DevStatusReq goes out at its next uplink; the device's answers
    (RXParamSetupAns, DevStatusAns) show on the device page as acknowledged, and in the API."""
    assert cloud.api is not None and cloud.api.web_url is not None
    web = cloud.api.web_url
    expect = playwright.expect
    expect.set_options(timeout=20_000)
    organization = _api(cloud, "POST", "/organizations", {"name": "Globex"})["id"]
    application = _api(cloud, "POST", "/applications", {"name": "Meters", "organization_id": organization})[
        "id"
    ]
    profile = _api(cloud, "POST", "/device-profiles", {
        "name": "EU868 ABP meters", "organization_id": organization, "supports_otaa": False,
        "adr_enabled": False,
    })["id"]  # fmt: skip
    gateway = "00800000a00b0001"
    _api(
        cloud,
        "POST",
        "/gateways",
        {"gateway_id": gateway, "organization_id": organization, "name": "Meter gw"},
    )
    keys = session_keys_1_0(APP_KEY, 0xB1, NetID.parse("000000"), 0xB1)
    session = EndDeviceSession.from_1_0(DevAddr.parse("260b0001"), keys)
    device = abp(EUI64.parse("70b3d57ed00b0001"), get_region("EU868"), session, seed=1)
    dev_eui = str(device.dev_eui)
    _api(cloud, "POST", "/devices", {
        "dev_eui": dev_eui, "name": "Meter", "application_id": application, "device_profile_id": profile,
    })  # fmt: skip
    _api(cloud, "POST", f"/devices/{dev_eui}/activate", {
        "dev_addr": str(session.dev_addr), "nwk_s_key": session.nwk_s_key.hex(),
        "app_s_key": session.app_s_key.hex(),
    })  # fmt: skip

    page = browser.new_context().new_page()  # type: ignore[attr-defined]
    log_in(page, web, ADMIN_EMAIL, local_admin_password(cloud.settings.data_dir))
    page.get_by_label("Organization", exact=True).select_option(label="Globex")
    page.goto(f"{web}device-profiles/{profile}")
    expect(page.get_by_role("heading", name="EU868 ABP meters")).to_be_visible()
    page.get_by_label("RX1 DR offset").fill("2")
    page.get_by_label("Device status every (uplinks)").fill("100")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    saved = _api(cloud, "GET", f"/device-profiles/{profile}")["mac"]
    assert (saved["rx1_dr_offset"], saved["dev_status_every_uplinks"]) == (2, 100), saved
    wanted = _api(cloud, "GET", f"/devices/{dev_eui}/mac")["desired"]
    assert wanted["rx1_dr_offset"] == 2, wanted  # the network wants it

    page.goto(f"{web}devices/{dev_eui}")
    row = page.get_by_role("row", name="RX1 DR offset")
    expect(row.get_by_role("cell").nth(1)).to_have_text("2")  # wanted
    expect(row.get_by_role("cell").nth(2)).to_have_text("0")  # the device has not answered yet
    page.get_by_role("button", name="Request device status").click()
    expect(page.get_by_role("button", name="Device status requested")).to_be_visible()
    assert _api(cloud, "GET", f"/devices/{dev_eui}/mac")["dev_status_requested"] is True

    def answered() -> bool:
        mac = _api(cloud, "GET", f"/devices/{dev_eui}/mac")
        acknowledged = mac["acknowledged"].get("rx1_dr_offset") == 2
        return acknowledged and not mac["dev_status_requested"] and mac["last_dev_status"] is not None

    with ThreadPoolExecutor(1) as radio:  # Playwright's sync API owns this thread's event loop
        uplinks = radio.submit(asyncio.run, _uplinks_until(broker, gateway, device, answered)).result(300)
    assert uplinks <= 12, _api(cloud, "GET", f"/devices/{dev_eui}/mac")
    assert device.rx1_dr_offset == 2  # the device applied RXParamSetupReq
    page.reload()
    expect(page.get_by_role("row", name="RX1 DR offset").get_by_role("cell").nth(2)).to_have_text("2")
    expect(page.get_by_role("button", name="Request device status")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text(" dB")  # the DevStatusAns margin, no longer "unknown"
    shot(page, "08-device-mac-settings")
    page.close()


def test_an_administrator_opens_an_organization_from_the_organizations_list(
    cloud: LocalCloud, browser: object
) -> None:
    """Clicking an organization's name in the global list switches to it and opens its settings (before,
    the name was plain text: the list offered nothing but Delete)."""
    assert cloud.api is not None and cloud.api.web_url is not None
    web = cloud.api.web_url
    expect = playwright.expect
    expect.set_options(timeout=20_000)
    created = _api(cloud, "POST", "/organizations", {"name": "Umbrella Labs", "description": "TPS reports"})
    organization = created["id"]
    page = browser.new_context().new_page()  # type: ignore[attr-defined]
    log_in(page, web, ADMIN_EMAIL, local_admin_password(cloud.settings.data_dir))
    page.goto(f"{web}organizations")
    try:
        page.get_by_role("button", name="Umbrella Labs", exact=True).click()
    finally:
        page.screenshot(path=str(ARTIFACTS / "09-organizations.png"))
    expect(page.get_by_role("heading", name="Organization settings")).to_be_visible()
    expect(page.get_by_label("Organization", exact=True)).to_have_value(organization)
    expect(page.get_by_label("Description")).to_have_value("TPS reports")
