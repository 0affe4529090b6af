"""Mosquitto in IoT Core's role: mutual TLS, the certificate's common name as the client identity,
and an ACL that mirrors the IoT policies of the CDK stack — a gateway may use only its own topics,
the bridge only gateway topics, an application only its own application topics.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from localcloud.certificates import CertificateAuthority
from localcloud.mqtt import BrokerAccess

CLOUD_IDENTITY = "loraless-cloud"
BRIDGE_IDENTITY = "loraless-bridge"

# %u is the client certificate's common name (use_identity_as_username).
ACL = f"""\
# The local cloud plays IoT Core's rules engine and data plane: it sees and sends everything.
user {CLOUD_IDENTITY}
topic readwrite #

# The gateway bridge publishes for the gateways that reach it over UDP (infra/bridge.py BridgePolicy).
user {BRIDGE_IDENTITY}
topic write +/gateway/+/event/#
topic write +/gateway/+/state/#
topic read +/gateway/+/command/#
topic write +/bridge/+/state/#

# A gateway (common name = gateway id) uses only its own topics (infra/iot.py GatewayPolicy).
pattern write +/gateway/%u/event/#
pattern write +/gateway/%u/state/#
pattern read +/gateway/%u/command/#

# An application (common name = application id) reads its events and sends its downlinks.
pattern read application/%u/#
pattern write application/%u/device/+/command/#
"""


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        raise FileNotFoundError(
            "mosquitto is not installed; `make setup` installs it (apt-get install mosquitto)"
        )
    return found


class Mosquitto:
    """A Mosquitto process with a TLS listener on `host:port`, configured under `directory`."""

    def __init__(
        self, directory: Path, *, host: str = "127.0.0.1", port: int = 8883, persistence: bool = False
    ) -> None:
        """`persistence` keeps sessions and retained messages across restarts (a file in `directory`)."""
        self.directory = directory
        self.persistence = persistence
        self.host = host
        self.port = port
        self.ca = CertificateAuthority(directory / "certs")
        self._process: subprocess.Popen[bytes] | None = None

    def access_for(self, identity: str) -> BrokerAccess:
        issued = self.ca.issue(identity)
        return BrokerAccess(
            host="127.0.0.1" if self.host in ("0.0.0.0", "") else self.host,
            port=self.port,
            ca_path=self.ca.ca_path,
            cert_path=issued.cert_path,
            key_path=issued.key_path,
        )

    def _config(self) -> Path:
        server = self.ca.issue("broker", server=True, hosts=("localhost", "127.0.0.1", self.host))
        acl = self.directory / "acl"
        acl.write_text(ACL)
        config = self.directory / "mosquitto.conf"
        config.write_text(
            "\n".join(
                [
                    "per_listener_settings false",
                    f"persistence {'true' if self.persistence else 'false'}",
                    f"persistence_location {self.directory}/",
                    "user root" if _is_root() else "",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    "max_queued_messages 100000",
                    "max_inflight_messages 0",
                    "set_tcp_nodelay true",
                    f"acl_file {acl}",
                    f"listener {self.port} {self.host}",
                    f"cafile {self.ca.ca_path}",
                    f"certfile {server.cert_path}",
                    f"keyfile {server.key_path}",
                    "require_certificate true",
                    "use_identity_as_username true",
                    "tls_version tlsv1.2",
                    "",
                ]
            )
        )
        return config

    def start(self, timeout_s: float = 10.0) -> Mosquitto:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self._config()
        log_path = self.directory / "mosquitto.log"
        self._process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(config)], stdout=subprocess.DEVNULL, stderr=log_path.open("ab")
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection((self.access_for(CLOUD_IDENTITY).host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None


def _is_root() -> bool:
    return os.geteuid() == 0
