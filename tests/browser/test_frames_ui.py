"""LoRaWAN frames and dashboards in headless Chromium against the running local cloud: a simulated OTAA
device joins, sends uplinks at DR2 until ADR moves it to DR5, gets a confirmed downlink and acknowledges
it, all visible in its frames tab (decoded: MType, FCnt, MAC commands, windows, TX ack) and its dashboard
charts; a forged frame (the device's DevAddr, a wrong MIC) shows in the gateway's frames with its reason,
and the gateway's dashboard draws its own stats reports.
Screenshots go to tests/browser/artifacts/."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import threading

import pytest

from functions.lorawan import security
from functions.lorawan.fhdr import FHDR, FCtrl
from functions.lorawan.phypayload import MType
from functions.simulator.fleet import JOIN_RETRY_S, FleetSettings, make_device
from functions.simulator.forwarder import PacketForwarder
from localcloud.broker import Mosquitto
from localcloud.cloud import ADMIN_EMAIL, LocalCloud, local_admin_password
from tests.browser.test_web_ui import APP_KEY, CHROMIUM, GATEWAY, browser, cloud, log_in, playwright, shot
from tests.functional.test_bridge import running

__all__ = ["browser", "cloud"]  # the module's fixtures, shared with the other browser test
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed (scripts/setup.sh installs it)"),
]
FIRST_DR = 2  # SF10: ADR has room to raise it


class Radio:
    """One simulated packet forwarder and one OTAA device sending every `interval_s`, reporting the data
    rate the device uses (SF = 12 - DR in EU868), on an event loop of their own, through a real bridge."""

    def __init__(self, broker: Mosquitto, interval_s: float = 1.0) -> None:
        self.broker = broker
        self.interval_s = interval_s
        self.device = make_device(FleetSettings(otaa=True, app_key=APP_KEY), 0)
        self.device.data_rate = FIRST_DR
        self.data_rates: set[int] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> Radio:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    async def _start(self) -> None:
        self.bridge = await running(self.broker)
        assert self.bridge.udp_address is not None
        self.forwarder = await PacketForwarder(GATEWAY, self.bridge.udp_address).start()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        device, forwarder = self.device, self.forwarder
        while True:
            joining = device.session is None
            uplink = device.join_request() if joining else device.uplink(1, b"\x01\x67\x00\xe1")
            self.data_rates.add(device.data_rate)
            forwarder.uplink(
                uplink.phy_payload, frequency=uplink.frequency, spreading_factor=12 - device.data_rate
            )
            # a JoinAccept may take both join-accept windows (5 s, 6 s): a device waits them out
            for _ in range(int((JOIN_RETRY_S if joining else self.interval_s) / 0.25)):
                await asyncio.sleep(0.25)
                self._receive()
                if joining and device.session is not None:
                    break

    def _receive(self) -> None:
        while not self.forwarder.downlinks.empty():
            phy = base64.b64decode(str(self.forwarder.downlinks.get_nowait().txpk.get("data", "")))
            with contextlib.suppress(Exception):  # a frame not for it is dropped, as a device does
                if self.device.session is None:
                    self.device.accept_join(phy)
                else:
                    self.device.downlink(phy)

    def forge(self) -> None:
        """A data frame with the device's DevAddr and a MIC made with the wrong key."""
        assert self.device.session is not None
        fhdr = FHDR(self.device.session.dev_addr, FCtrl(), 60000, b"")
        phy = security.data_frame(MType.UnconfirmedDataUp, fhdr, f_port=1, frm_payload=b"forged")
        self._loop.call_soon_threadsafe(
            lambda: self.forwarder.uplink(phy.with_mic(b"\x01\x02\x03\x04").to_bytes())
        )

    async def _stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.forwarder.stop()
        await self.bridge.stop()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)


def test_frames_and_dashboards_of_a_device_and_a_gateway(
    cloud: LocalCloud, browser: object, broker: Mosquitto
) -> None:
    assert cloud.api is not None and cloud.api.web_url is not None
    web = cloud.api.web_url
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    expect = playwright.expect
    expect.set_options(timeout=30_000)
    log_in(page, web, ADMIN_EMAIL, local_admin_password(cloud.settings.data_dir))
    page.goto(f"{web}organizations")
    page.get_by_label("Name", exact=True).fill("Radio Acme")
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("cell", name="Radio Acme", exact=True)).to_be_visible()
    page.goto(f"{web}device-profiles/new")
    page.get_by_label("Name", exact=True).fill("EU868 ADR")
    page.get_by_role("button", name="Create device profile").click()
    expect(page.get_by_role("heading", name="EU868 ADR")).to_be_visible()
    page.goto(f"{web}applications/new")
    page.get_by_label("Name", exact=True).fill("Radio")
    page.get_by_role("button", name="Create application").click()
    expect(page.get_by_role("heading", name="Radio")).to_be_visible()
    page.get_by_role("link", name="Add device").click()
    radio = Radio(broker)
    dev_eui = str(radio.device.dev_eui)
    page.get_by_label("DevEUI").fill(dev_eui)
    page.get_by_label("JoinEUI (AppEUI)").fill(str(radio.device.join_eui))
    page.get_by_label("Name", exact=True).fill("Mast")
    page.get_by_label("AppKey").fill(APP_KEY.hex())
    page.get_by_role("button", name="Create device").click()
    expect(page.get_by_role("heading", name="Mast")).to_be_visible()
    page.goto(f"{web}gateways/new")
    page.get_by_label("Gateway id (EUI-64)").fill(GATEWAY)
    page.get_by_label("Name", exact=True).fill("Mast gateway")
    page.get_by_role("button", name="Create gateway").click()
    expect(page.get_by_role("heading", name="Mast gateway")).to_be_visible()

    gateway_page = context.new_page()  # the same login
    gateway_page.goto(f"{web}gateways/{GATEWAY}")  # its frames tab is open: the gateway is watched
    expect(
        gateway_page.get_by_role("table", name="LoRaWAN frames").or_(
            gateway_page.get_by_text("No frames yet")
        )
    ).to_be_visible()
    page.goto(f"{web}devices/{dev_eui}")
    frames = page.get_by_role("table", name="LoRaWAN frames")
    radio.start()
    try:
        expect(frames.get_by_text("JoinRequest").first).to_be_visible(timeout=180_000)  # cold functions
        expect(frames.get_by_text("JoinAccept").first).to_be_visible()
        expect(frames.get_by_text("UnconfirmedDataUp").first).to_be_visible(timeout=60_000)
        expect(frames.get_by_text(f"DR{FIRST_DR} 868").first).to_be_visible()

        page.get_by_label("FPort").fill("10")
        page.get_by_label("Payload", exact=True).fill("01ff")
        page.get_by_label("Confirmed").check()
        page.get_by_role("button", name="Enqueue").click()
        expect(page.get_by_role("status")).to_contain_text("queued")
        expect(frames.get_by_text("ConfirmedDataDown").first).to_be_visible(timeout=60_000)
        expect(frames.get_by_text("sent RX1").first).to_be_visible()  # its TX ack
        expect(frames.get_by_text(re.compile(r"\bADR ACK\b")).first).to_be_visible(timeout=30_000)  # it acked

        # ADR: after 20 uplinks the network asks for a faster data rate; the device answers and moves
        expect(frames.get_by_text("LinkADRReq").first).to_be_visible(timeout=120_000)
        expect(frames.get_by_text("LinkADRAns").first).to_be_visible(timeout=30_000)
        expect(frames.get_by_text("DR5 868").first).to_be_visible(timeout=30_000)
        # Live frames keep moving the rows (under load Playwright never finds the row still): pause the
        # list, as a user does to read one, then open the decoded frame, field by field.
        frames_card = frames.locator("xpath=ancestor::section[1]")
        frames_card.get_by_role("button", name="Pause").click()
        frames.get_by_text("LinkADRReq").first.click()
        expect(page.locator("tr.body pre").first).to_contain_text('"name": "LinkADRReq"')
        shot(page, "10-device-frames")
        frames_card.get_by_role("button", name="Resume").click()

        page.get_by_role("tab", name="Dashboard").click()
        data_rates = page.get_by_role("img", name="Data rates")
        expect(data_rates).to_contain_text(f"DR{FIRST_DR}")
        expect(data_rates).to_contain_text("DR5")
        expect(page.get_by_role("img", name="Frames")).to_be_visible()
        expect(page.get_by_role("img", name="RSSI of the best gateway")).to_be_visible()
        expect(page.get_by_role("img", name="Frequencies")).to_be_visible()
        shot(page, "11-device-dashboard")

        radio.forge()
        gateway_frames = gateway_page.get_by_role("table", name="LoRaWAN frames")
        expect(gateway_frames.get_by_text("mic failure").first).to_be_visible(timeout=60_000)
        expect(gateway_frames.get_by_text("UnconfirmedDataUp").first).to_be_visible()
        shot(gateway_page, "12-gateway-frames")
        gateway_page.get_by_role("tab", name="Dashboard").click()
        # the gateway's own stats reports (every 30 s, counted by the bridge): what it received and sent
        expect(gateway_page.get_by_role("img", name="Frames")).to_be_visible(timeout=60_000)
        expect(gateway_page.get_by_role("img", name="Received per frequency")).to_contain_text("MHz")
        expect(gateway_page.get_by_role("img", name="Received per data rate")).to_contain_text(
            f"DR{FIRST_DR}"
        )
        expect(gateway_page.get_by_role("img", name="Transmitted per frequency")).to_be_visible()
        shot(gateway_page, "13-gateway-dashboard")
    finally:
        radio.stop()
    assert {FIRST_DR, 5} <= radio.data_rates
    context.close()
