"""A throw-away certificate authority for the HTTPS backends, made at run time by openssl.

The CA signs one server certificate whose subjectAltName lists every test name, so all
backends present the same certificate and a client that trusts ``ca.pem`` (curl
``--cacert``, Python ``ssl``, ``openssl s_client -CAfile``) verifies any of the names.
Also makes the 80-byte key file nginx's ``ssl_session_ticket_key`` reads, for pools that
share ticket keys.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

OPENSSL = "openssl"
TICKET_KEY_BYTES = 80  # nginx: 80-byte keys select AES-256 (48 would give AES-128)


class CertificateError(RuntimeError):
    """openssl failed; the message holds its output."""


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    cert: Path  # server certificate (leaf), SANs = the names
    key: Path
    ticket_key: Path  # shared session-ticket key (used only when a pool shares keys)


def _openssl(*args: str) -> None:
    result = subprocess.run([OPENSSL, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CertificateError(f"openssl {' '.join(args[:2])} failed:\n{result.stderr}")


def make_test_ca(directory: Path, names: Sequence[str], days: int = 2) -> TlsFiles:
    """Create ``ca.pem``, ``server.pem`` (SANs ``names``), ``server.key`` and
    ``ticket.key`` in ``directory`` (EC P-256 keys: fast to make and to use)."""
    directory.mkdir(parents=True, exist_ok=True)
    if not names:
        raise ValueError("a server certificate needs at least one name")
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "server.ext"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(ca_key), "-out", str(ca_cert), "-days", str(days),
             "-subj", "/CN=p4lb test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={names[0]}")
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n"
                   f"subjectAltName={','.join('DNS:' + name for name in names)}\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
             "-CAcreateserial", "-out", str(cert), "-days", str(days), "-extfile", str(ext))
    ticket_key = directory / "ticket.key"
    ticket_key.write_bytes(os.urandom(TICKET_KEY_BYTES))
    for secret in (ca_key, key, ticket_key):
        secret.chmod(0o600)
    return TlsFiles(ca_cert=ca_cert, cert=cert, key=key, ticket_key=ticket_key)
