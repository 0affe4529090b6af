"""The join server: answers JoinReq from the root keys it holds (LoRaWAN Backend Interfaces 1.0 §6).

DevNonce rules (1.0.4 §6.2.5 and 1.1 §6.2.5): devices of LoRaWAN 1.0.4 and 1.1 count DevNonce up, so a
nonce not above the last one is a replay; earlier 1.0 devices draw random nonces, so any nonce used
before is a replay. Both checks are one conditional write, so two concurrent joins cannot both pass.
"""

from __future__ import annotations

import logging

from pynamodb.exceptions import DoesNotExist, UpdateError

from functions.appserver.models import Device
from functions.lorawan import security
from functions.lorawan.errors import LoRaWANError
from functions.lorawan.join import DLSettings, JoinAccept, JoinRequest, RejoinRequest
from functions.lorawan.keys import join_server_keys, session_keys_1_0, session_keys_1_1
from functions.lorawan.phypayload import PHYPayload
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID
from functions.shared import envelope
from functions.shared.interface import JoinAns, JoinReq

log = logging.getLogger("loraless.join_server")
SESSION_LIFETIME_S = 0  # no forced rejoin


def counts_dev_nonce(mac_version: str) -> bool:
    """1.0.4 and 1.1 devices use a counter; 1.0.0-1.0.3 devices use random nonces."""
    return mac_version.startswith("1.1") or mac_version >= "1.0.4"


def _fail(request: JoinReq, code: str, description: str) -> JoinAns:
    log.warning("join of %s refused: %s (%s)", request.dev_eui, code, description)
    return JoinAns(request.transaction_id, code, description)


def _claim_dev_nonce(device: Device, dev_nonce: int) -> bool:
    """Record the nonce if it is acceptable; False when it is a replay."""
    try:
        if counts_dev_nonce(device.mac_version):
            condition = Device.last_dev_nonce.does_not_exist() | (Device.last_dev_nonce < dev_nonce)
            device.update(actions=[Device.last_dev_nonce.set(dev_nonce)], condition=condition)
        else:
            condition = Device.dev_nonces.does_not_exist() | ~Device.dev_nonces.contains(dev_nonce)
            device.update(actions=[Device.dev_nonces.add({dev_nonce})], condition=condition)
    except UpdateError:
        return False
    return True


def handle_join(request: JoinReq) -> JoinAns:
    try:
        device = Device.get(request.dev_eui, consistent_read=True)
    except DoesNotExist:
        return _fail(request, "UnknownDevEUI", "no such device")
    if not device.enabled or device.root_keys is None:
        return _fail(request, "JoinReqFailed", "device disabled or without root keys")
    try:
        phy = PHYPayload.from_bytes(bytes.fromhex(request.phy_payload))
        join_request = phy.payload
        if isinstance(join_request, RejoinRequest):
            return _rejoin(request, device, phy, join_request)
        if not isinstance(join_request, JoinRequest):
            return _fail(request, "FrameSizeError", "not a JoinRequest")
        roots = envelope.open_sealed(device.root_keys, context=device.dev_eui)
        lorawan_1_1 = device.mac_version.startswith("1.1")
        app_key = AES128Key.parse(roots["app_key"])
        nwk_key = AES128Key.parse(roots.get("nwk_key") or roots["app_key"])
        root = nwk_key if lorawan_1_1 else app_key
        if security.join_request_mic(phy, root) != phy.mic:
            return _fail(request, "MICFailed", "JoinRequest MIC does not match the root key")
    except (LoRaWANError, ValueError, envelope.EnvelopeError) as exc:
        return _fail(request, "JoinReqFailed", str(exc))
    if not _claim_dev_nonce(device, join_request.dev_nonce):
        return _fail(request, "JoinReqFailed", f"DevNonce {join_request.dev_nonce} already used")
    return _accept(request, device, app_key, nwk_key, join_request.join_eui, join_request.dev_nonce)


def _rejoin(request: JoinReq, device: Device, phy: PHYPayload, rejoin: RejoinRequest) -> JoinAns:
    """A LoRaWAN 1.1 RejoinRequest (§6.2.4.1): the network server checked the MIC of types 0 and 2
    (SNwkSIntKey) and RJcount0; type 1 is signed with JSIntKey, which only the join server derives. The
    JoinAccept is sealed as for a JoinRequest, with RJcount in place of DevNonce, JSEncKey for encryption
    and the rejoin type as JoinReqType (§6.2.3)."""
    if not device.mac_version.startswith("1.1") or device.root_keys is None:
        return _fail(request, "JoinReqFailed", "RejoinRequests are LoRaWAN 1.1")
    roots = envelope.open_sealed(device.root_keys, context=device.dev_eui)
    app_key = AES128Key.parse(roots["app_key"])
    nwk_key = AES128Key.parse(roots.get("nwk_key") or roots["app_key"])
    join_eui = EUI64.parse(device.join_eui)
    if rejoin.rejoin_type == 1:
        if rejoin.join_eui != join_eui:
            return _fail(request, "UnknownJoinEUI", "RejoinRequest type 1 for another JoinEUI")
        js = join_server_keys(nwk_key, EUI64.parse(device.dev_eui))
        if security.rejoin_request_mic(phy, js.js_int_key) != phy.mic:
            return _fail(request, "MICFailed", "RejoinRequest type 1 MIC does not match JSIntKey")
    return _accept(
        request, device, app_key, nwk_key, join_eui, rejoin.rj_count, rejoin_type=rejoin.rejoin_type
    )


def _accept(
    request: JoinReq,
    device: Device,
    app_key: AES128Key,
    nwk_key: AES128Key,
    join_eui: EUI64,
    dev_nonce: int,
    *,
    rejoin_type: int | None = None,
) -> JoinAns:
    """Derive the session keys and seal the JoinAccept; `dev_nonce` is RJcount for a rejoin."""
    lorawan_1_1 = device.mac_version.startswith("1.1")
    device.update(actions=[Device.join_nonce.add(1)])
    join_nonce = int(device.join_nonce) & 0xFFFFFF
    net_id = NetID.parse(request.sender_id)
    dev_addr = DevAddr.parse(request.dev_addr)
    settings = DLSettings.from_byte(request.dl_settings)
    dl_settings = DLSettings(
        opt_neg=lorawan_1_1, rx1_dr_offset=settings.rx1_dr_offset, rx2_dr=settings.rx2_dr
    )
    cf_list = bytes.fromhex(request.cf_list) if request.cf_list else None
    accept = JoinAccept(join_nonce, net_id, dev_addr, dl_settings, request.rx_delay, cf_list)
    if lorawan_1_1:
        js = join_server_keys(nwk_key, EUI64.parse(device.dev_eui))
        sealed = security.seal_join_accept(
            accept, encryption_key=nwk_key if rejoin_type is None else js.js_enc_key, mic_key=js.js_int_key,
            join_req_type=security.JOIN_REQUEST_TYPE if rejoin_type is None else rejoin_type,
            join_eui=join_eui, dev_nonce=dev_nonce,
        )  # fmt: skip
        keys11 = session_keys_1_1(nwk_key, app_key, join_nonce, join_eui, dev_nonce)
        network_keys = {
            "FNwkSIntKey": keys11.f_nwk_s_int_key.hex(), "SNwkSIntKey": keys11.s_nwk_s_int_key.hex(),
            "NwkSEncKey": keys11.nwk_s_enc_key.hex(),
        }  # fmt: skip
        app_s_key = keys11.app_s_key
    else:
        sealed = security.seal_join_accept(accept, encryption_key=app_key, mic_key=app_key)
        keys10 = session_keys_1_0(app_key, join_nonce, net_id, dev_nonce)
        network_keys = {"NwkSKey": keys10.nwk_s_key.hex()}
        app_s_key = keys10.app_s_key
    device.update(
        actions=[Device.app_s_key.set(envelope.seal({"app_s_key": app_s_key.hex()}, context=device.dev_eui))]
    )
    log.info("join of %s accepted: DevAddr %s, JoinNonce %d", device.dev_eui, dev_addr, join_nonce)
    return JoinAns(
        request.transaction_id,
        "Success",
        "",
        sealed.to_bytes().hex(),
        network_keys,
        SESSION_LIFETIME_S,
        app_s_key=app_s_key.hex(),
    )
