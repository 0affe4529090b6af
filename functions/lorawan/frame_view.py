"""A PHYPayload as people read it, field by field: the one view `loraless frame decode` prints and the
frame logs of the API and the web interface show (ChirpStack's "LoRaWAN frames" tab).

Keys are optional: without them a frame still shows its MType, DevAddr, FCtrl bits, FCnt, FOpts, FPort
and MIC; with them, payloads are decrypted and the MIC checked. A network server that already knows a
frame's MAC commands in clear (1.1 FOpts and FPort 0 payloads are encrypted, 1.1 §4.3.1.6) passes them
as `mac_commands`, so the log shows what the network read without holding session keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.lorawan import security
from functions.lorawan.cflist import decode_cf_list
from functions.lorawan.errors import LoRaWANError
from functions.lorawan.join import JoinRequest, RejoinRequest
from functions.lorawan.keys import join_server_keys
from functions.lorawan.mac_commands import decode_mac_commands
from functions.lorawan.phypayload import EncryptedJoinAccept, MType, PHYPayload, ProprietaryPayload
from functions.lorawan.types import EUI64, AES128Key


@dataclass(frozen=True)
class FrameKeys:
    """What may help decode a frame beyond its bytes; every field is optional."""

    lorawan: str = "1.0"
    nwk_s_key: AES128Key | None = None  # NwkSKey (1.0), or NwkSEncKey / SNwkSIntKey (1.1)
    app_s_key: AES128Key | None = None
    app_key: AES128Key | None = None
    nwk_key: AES128Key | None = None
    f_cnt: int | None = None  # the full 32-bit counter, when above 65535
    join_eui: EUI64 | None = None
    dev_eui: EUI64 | None = None
    dev_nonce: int | None = None
    mac_commands: bytes | None = None  # the frame's MAC commands in clear, as the network server read them


def _mac_commands(data: bytes, *, uplink: bool) -> list[dict[str, Any]]:
    return [command.to_dict() for command in decode_mac_commands(data, uplink=uplink)]


def _data(phy: PHYPayload, keys: FrameKeys, out: dict[str, Any]) -> None:
    mac = phy.mac_payload
    fhdr = mac.fhdr
    f_cnt = keys.f_cnt if keys.f_cnt is not None else fhdr.f_cnt
    out |= {
        "dev_addr": str(fhdr.dev_addr),
        "f_ctrl": fhdr.f_ctrl.to_dict(uplink=phy.uplink),
        "f_cnt": f_cnt,
        "f_opts": fhdr.f_opts.hex(),
    }
    lorawan_1_1 = keys.lorawan == "1.1"
    nwk_s_key, app_s_key = keys.nwk_s_key, keys.app_s_key
    f_opts = fhdr.f_opts
    if fhdr.f_opts and lorawan_1_1 and nwk_s_key is not None:
        f_opts = security.decrypt_f_opts(phy, nwk_s_key, f_cnt)
        out["f_opts_decrypted"] = f_opts.hex()
    if f_opts and (not lorawan_1_1 or nwk_s_key is not None) and keys.mac_commands is None:
        try:
            out["mac_commands"] = _mac_commands(f_opts, uplink=phy.uplink)
        except LoRaWANError as exc:  # a forged or damaged frame: show it anyway
            out["mac_commands_error"] = str(exc)
    if mac.f_port is not None:
        out["f_port"] = mac.f_port
        payload = mac.frm_payload
        key = nwk_s_key if mac.f_port == 0 else app_s_key
        if key is not None and payload:
            payload = security.decrypt_frm_payload(phy, key, f_cnt)
            out["frm_payload_decrypted"] = True
        out["frm_payload"] = payload.hex()
        if mac.f_port == 0 and key is not None:
            out["mac_commands"] = _mac_commands(payload, uplink=phy.uplink)
    if keys.mac_commands:
        out["mac_commands"] = _mac_commands(keys.mac_commands, uplink=phy.uplink)
    out["mic"] = phy.mic.hex()
    if nwk_s_key is not None and not lorawan_1_1:
        out["mic_valid"] = security.data_mic_1_0(phy, nwk_s_key, f_cnt) == phy.mic
    elif nwk_s_key is not None and not phy.uplink:
        # 1.1 downlink MIC: SNwkSIntKey (one key for a quick check).
        out["mic_valid"] = security.downlink_mic_1_1(phy, nwk_s_key, f_cnt) == phy.mic


def _join_accept(phy: PHYPayload, keys: FrameKeys, out: dict[str, Any]) -> None:
    assert isinstance(phy.payload, EncryptedJoinAccept)
    key = keys.nwk_key if keys.lorawan == "1.1" and keys.nwk_key else keys.app_key
    if key is None:
        out["encrypted_payload"] = phy.payload.data.hex()
        return
    mic_key = key
    if keys.lorawan == "1.1" and keys.dev_eui is not None:
        mic_key = join_server_keys(key, keys.dev_eui).js_int_key
    join_accept, mic, valid = security.open_join_accept(
        phy, encryption_key=key, mic_key=mic_key, join_eui=keys.join_eui, dev_nonce=keys.dev_nonce
    )
    out |= {
        "join_nonce": join_accept.join_nonce,
        "net_id": str(join_accept.net_id),
        "dev_addr": str(join_accept.dev_addr),
        "opt_neg": join_accept.dl_settings.opt_neg,
        "rx1_dr_offset": join_accept.dl_settings.rx1_dr_offset,
        "rx2_dr": join_accept.dl_settings.rx2_dr,
        "rx_delay": join_accept.rx_delay,
        "mic": mic.hex(),
    }
    if join_accept.cf_list is not None:
        out["cf_list"] = decode_cf_list(join_accept.cf_list).to_dict()
    if valid is not None:
        out["mic_valid"] = valid


def frame_view(data: bytes, keys: FrameKeys = FrameKeys()) -> dict[str, Any]:
    """The frame's fields as a JSON-ready dict; raises a LoRaWANError for bytes that are no frame."""
    phy = PHYPayload.from_bytes(data)
    out: dict[str, Any] = {"mtype": phy.m_type.name, "major": phy.mhdr.major}
    payload = phy.payload
    if phy.m_type.is_data:
        _data(phy, keys, out)
    elif isinstance(payload, JoinRequest):
        out |= {
            "join_eui": str(payload.join_eui),
            "dev_eui": str(payload.dev_eui),
            "dev_nonce": payload.dev_nonce,
            "mic": phy.mic.hex(),
        }
        key = keys.nwk_key if keys.lorawan == "1.1" and keys.nwk_key else keys.app_key
        if key is not None:
            out["mic_valid"] = security.join_request_mic(phy, key) == phy.mic
    elif isinstance(payload, RejoinRequest):
        out |= {
            "rejoin_type": payload.rejoin_type,
            "dev_eui": str(payload.dev_eui),
            "rj_count": payload.rj_count,
        }
        out |= {"net_id": str(payload.net_id)} if payload.net_id else {"join_eui": str(payload.join_eui)}
        out["mic"] = phy.mic.hex()
    elif phy.m_type == MType.JoinAccept:
        _join_accept(phy, keys, out)
    elif isinstance(payload, ProprietaryPayload):
        out["payload"] = payload.data.hex()
    return out


def safe_frame_view(data: bytes, keys: FrameKeys = FrameKeys()) -> dict[str, Any]:
    """`frame_view`, or {"error": ...} for bytes that do not decode (a log shows what arrived anyway)."""
    try:
        return frame_view(data, keys)
    except LoRaWANError as exc:
        return {"error": str(exc)}
