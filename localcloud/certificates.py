"""A private certificate authority for the local IoT Core: the broker's server certificate and one
client certificate per identity (a gateway id, the bridge, the cloud itself, an application), as IoT
Core issues device certificates. Kept under the data directory so issued certificates stay valid
between runs. EC P-256 keys, like IoT Core's CreateKeysAndCertificate default.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key on disk (PEM)."""

    cert_path: Path
    key_path: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(path, 0o600)


RESERVED_PREFIX = "loraless-"  # loraless-cloud (rules engine, data plane), loraless-bridge...


def privileged(common_name: str) -> bool:
    """An identity of the local cloud itself, which only `issue` (on this machine) hands out."""
    name = common_name.strip().lower()
    return name.startswith(RESERVED_PREFIX) or name in ("broker", "") or "/" in name


class CertificateAuthority:
    """Creates the CA once in `directory`, then issues certificates signed by it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_path = directory / "ca.pem"
        ca_key_path = directory / "ca.key"
        if not self.ca_path.exists() or not ca_key_path.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Loraless local CA")])
            now = dt.datetime.now(dt.UTC)
            certificate = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + VALIDITY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(
                    x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
                )
                .sign(key, hashes.SHA256())
            )
            _write_key(ca_key_path, key)
            self.ca_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        self._key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        self._certificate = x509.load_pem_x509_certificate(self.ca_path.read_bytes())

    def issue(self, common_name: str, *, server: bool = False, hosts: tuple[str, ...] = ()) -> Issued:
        """A certificate for `common_name` (reused if already issued); a server's carries `hosts` as SANs."""
        stem = self.directory / common_name.replace("/", "_")
        issued = Issued(stem.with_suffix(".pem"), stem.with_suffix(".key"))
        if issued.cert_path.exists() and issued.key_path.exists():
            return issued
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        certificate = self._sign(subject, key.public_key(), server=server, hosts=hosts)
        _write_key(issued.key_path, key)
        issued.cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return issued

    def sign_request(self, csr_pem: bytes) -> tuple[str, bytes]:
        """Sign a client CSR, keeping its subject (IoT CreateCertificateFromCsr): (certificate id, PEM).

        Refuses a subject naming one of the local cloud's own identities (`loraless-*`, the broker):
        their certificates carry the broker-wide rights of IoT Core's internals, never issued on request.
        """
        request = x509.load_pem_x509_csr(csr_pem)
        if not request.is_signature_valid:
            raise ValueError("the CSR's signature does not verify")
        names = [str(a.value) for a in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        if len(names) != 1 or privileged(names[0]):
            raise PermissionError(f"will not sign a certificate for {names!r}: a reserved identity")
        certificate = self._sign(request.subject, request.public_key(), server=False, hosts=())  # type: ignore[arg-type]
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        return certificate.fingerprint(hashes.SHA256()).hex(), pem

    def _sign(
        self,
        subject: x509.Name,
        public_key: ec.EllipticCurvePublicKey,
        *,
        server: bool,
        hosts: tuple[str, ...],
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if hosts:
            names: list[x509.GeneralName] = []
            for host in hosts:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(host)))
                except ValueError:
                    names.append(x509.DNSName(host))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(self._key, hashes.SHA256())  # type: ignore[arg-type]
