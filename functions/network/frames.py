"""Building the data downlink of a session: network-only (ACK, MAC answers) or carrying the head of
the application queue, with the right counter per LoRaWAN version (1.0: one FCntDown; 1.1: NFCntDown
for network frames, AFCntDown for application frames) and MAC answers in FOpts."""

from __future__ import annotations

from dataclasses import dataclass

from functions.lorawan import security
from functions.lorawan.fhdr import FHDR, FCtrl
from functions.lorawan.phypayload import MType
from functions.lorawan.types import AES128Key, DevAddr
from functions.network.models import DeviceSession
from functions.shared.interface import QueuedDownlink

MAX_F_OPTS = 15


@dataclass(frozen=True)
class BuiltDownlink:
    phy_payload: bytes
    f_cnt: int
    item: QueuedDownlink | None


def build_downlink(
    session: DeviceSession,
    keys: dict[str, AES128Key],
    *,
    ack: bool,
    uplink_f_cnt: int,
    f_opts: bytes,
    item: QueuedDownlink | None,
    app_s_key: AES128Key | None,
    f_pending: bool,
    mac_frm_payload: bytes = b"",
) -> BuiltDownlink:
    """Encrypt, sign and advance the counter in `session` (saved by the caller, conditionally).

    MAC commands go in `f_opts` (at most 15 octets) or, without an application payload, in an FPort 0
    FRMPayload (`mac_frm_payload`, encrypted with the network key; 1.0.4 §4.3.1.6)."""
    if len(f_opts) > MAX_F_OPTS:
        raise ValueError(f"FOpts of {len(f_opts)} octets: at most {MAX_F_OPTS}")
    if mac_frm_payload and (f_opts or item is not None):
        raise ValueError(
            "MAC commands go in FOpts or on FPort 0, not both, and not with an application payload"
        )
    lorawan_1_1 = session.mac_version.startswith("1.1")
    dev_addr = DevAddr.parse(session.dev_addr)
    application = item is not None and app_s_key is not None
    use_application_counter = application or not lorawan_1_1
    f_cnt = int(session.a_f_cnt_down if use_application_counter else session.n_f_cnt_down)
    m_type = (
        MType.ConfirmedDataDown
        if application and item is not None and item.confirmed
        else MType.UnconfirmedDataDown
    )
    fhdr = FHDR(dev_addr, FCtrl(ack=ack, adr=bool(session.adr), f_pending=f_pending), f_cnt, f_opts)
    if application and item is not None:
        frame = security.data_frame(m_type, fhdr, f_port=item.f_port, frm_payload=item.payload)
    elif mac_frm_payload:
        frame = security.data_frame(m_type, fhdr, f_port=0, frm_payload=mac_frm_payload)
    else:
        frame = security.data_frame(m_type, fhdr)
    frame = security.encrypt_data_frame(
        frame,
        f_cnt=f_cnt,
        app_s_key=app_s_key or keys["nwk_s_enc_key"],
        nwk_s_enc_key=keys["nwk_s_enc_key"],
        lorawan_1_1=lorawan_1_1,
    )
    if lorawan_1_1:
        mic = security.downlink_mic_1_1(
            frame, keys["s_nwk_s_int_key"], f_cnt, conf_f_cnt=uplink_f_cnt if ack else 0
        )
    else:
        mic = security.data_mic_1_0(frame, keys["f_nwk_s_int_key"], f_cnt)
    if use_application_counter:
        session.a_f_cnt_down = f_cnt + 1
    else:
        session.n_f_cnt_down = f_cnt + 1
    return BuiltDownlink(frame.with_mic(mic).to_bytes(), f_cnt, item if application else None)
