"""A self-signed certificate for ``lipcoach serve --https``: a phone's browser opens the camera only on a secure page.

The certificate is made on this machine (with the ``cryptography`` package when it is installed,
else the ``openssl`` command), names this machine's addresses on the local network, and is kept
in the data folder (``tls/``) so a phone that accepted it once is not asked again. Nothing is
downloaded and nothing leaves the machine.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from lipcoach.errors import LipcoachError

#: Days a new certificate is valid (browsers refuse longer than 825 for locally trusted ones).
VALID_DAYS = 825


def local_addresses() -> list[str]:
    """This machine's IPv4 addresses a phone on the same network can reach (the default route's first)."""
    found: list[str] = []
    try:
        # No packet is sent: connecting a UDP socket only picks the interface of the default route.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            found.append(s.getsockname()[0])
    except OSError:
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(info[4][0])
    except OSError:
        pass
    out = []
    for a in found:
        if a not in out and not ipaddress.ip_address(a).is_loopback:
            out.append(a)
    return out


def names_for(host: str) -> tuple[list[str], list[str]]:
    """The DNS names and IP addresses the certificate must cover for a server bound to ``host``."""
    dns = ["localhost", socket.gethostname()]
    ips = ["127.0.0.1"]
    if host in ("0.0.0.0", "::", ""):
        ips += local_addresses()
    else:
        try:
            ipaddress.ip_address(host.strip("[]"))
            ips.append(host.strip("[]"))
        except ValueError:
            dns.append(host)
    return list(dict.fromkeys(d for d in dns if d)), list(dict.fromkeys(ips))


def ensure_certificate(folder: str | os.PathLike, host: str) -> tuple[Path, Path]:
    """``(cert.pem, key.pem)`` in ``folder``, made now unless the ones there already cover ``host``'s names.

    Raises
    ------
    LipcoachError
        Neither ``cryptography`` nor ``openssl`` is available.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    dns, ips = names_for(host)
    names_file = folder / "names.txt"
    wanted = "\n".join(dns + ips)
    if cert.exists() and key.exists() and names_file.exists() and set(wanted.split()) <= set(names_file.read_text().split()):
        return cert, key
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        t_cert, t_key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        try:
            _with_cryptography(t_cert, t_key, dns, ips)
        except ImportError:
            _with_openssl(t_cert, t_key, dns, ips)
        os.chmod(t_key, 0o600)
        os.replace(t_key, key)
        os.replace(t_cert, cert)
    names_file.write_text(wanted + "\n")
    return cert, key


def _with_cryptography(cert: Path, key: Path, dns: list[str], ips: list[str]) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    pkey = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lipcoach practice studio")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(pkey.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
         .add_extension(x509.SubjectAlternativeName(alt), critical=False)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .sign(pkey, hashes.SHA256()))
    key.write_bytes(pkey.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    cert.write_bytes(c.public_bytes(serialization.Encoding.PEM))


def _with_openssl(cert: Path, key: Path, dns: list[str], ips: list[str]) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise LipcoachError(None, "--https needs the Python package 'cryptography' or the 'openssl' command to make its certificate")
    alt = ",".join([f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips])
    cmd = [exe, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", str(key), "-out", str(cert), "-days", str(VALID_DAYS), "-subj", "/CN=lipcoach practice studio",
           "-addext", f"subjectAltName={alt}", "-addext", "basicConstraints=critical,CA:FALSE"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not cert.exists():
        last = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise LipcoachError(None, f"openssl could not make the certificate ({last[0][:200]})")
