"""Signing identities: a development chain made on first use, or the production one from settings.

c2pa 0.38 refuses a self-signed end-entity certificate, so the development identity is a small
chain: an ES256 root CA plus an end-entity certificate it issued (CA:FALSE, digitalSignature,
emailProtection, subject and authority key identifiers).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from workbench.errors import ProvenanceError

if TYPE_CHECKING:
    from workbench.settings import Settings

SigningAlg = Literal["es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"]

DEV_ROOT_FILE = "dev-root.pem"
DEV_CHAIN_FILE = "dev-chain.pem"
DEV_KEY_FILE = "dev-signer.key"

_ROOT_VALIDITY = dt.timedelta(days=10 * 365)
_SIGNER_VALIDITY = dt.timedelta(days=2 * 365)
_CLOCK_SKEW = dt.timedelta(minutes=5)  # so a freshly made chain is valid on a slightly late clock


@dataclass(frozen=True)
class SigningIdentity:
    """What the signer needs: the chain (end-entity first), its private key, and the root a
    verifier should trust (None when the chain's root is not known, e.g. a production chain
    anchored in a public trust list)."""

    chain_pem: bytes
    key_pem: bytes
    root_pem: bytes | None
    alg: SigningAlg = "es256"

    def __repr__(self) -> str:  # never print the private key
        root = "yes" if self.root_pem else "no"
        return f"SigningIdentity(alg={self.alg!r}, chain={len(self.chain_pem)} bytes, root={root})"


def ensure_dev_identity(keys_dir: Path) -> SigningIdentity:
    """Return the development identity under ``keys_dir``, making it on the first call."""
    keys_dir = Path(keys_dir)
    root_path, chain_path, key_path = (keys_dir / n for n in (DEV_ROOT_FILE, DEV_CHAIN_FILE, DEV_KEY_FILE))

    # 1. reuse what an earlier call made (the chain is written last, so all three means complete)
    if all(p.exists() for p in (root_path, chain_path, key_path)):
        return _read_dev_identity(root_path, chain_path, key_path)

    # 2. make it, once: workers sharing a home may get here together
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    with _exclusive_lock(keys_dir / ".dev-identity.lock"):
        present = [p.exists() for p in (root_path, chain_path, key_path)]
        if all(present):
            return _read_dev_identity(root_path, chain_path, key_path)
        if any(present):
            raise ProvenanceError(
                f"development identity in {keys_dir} is incomplete; delete {DEV_ROOT_FILE}, {DEV_CHAIN_FILE} "
                f"and {DEV_KEY_FILE} there to make a new one"
            )
        root_pem, chain_pem, key_pem = _make_dev_chain()
        # the key first and private from its first byte; the chain last marks completion
        _write_atomic(key_path, key_pem, mode=0o600)
        _write_atomic(root_path, root_pem, mode=0o644)
        _write_atomic(chain_path, chain_pem, mode=0o644)
    return SigningIdentity(chain_pem=chain_pem, key_pem=key_pem, root_pem=root_pem)


def load_production_identity(cert_path: Path, key_path: Path, root_path: Path | None = None) -> SigningIdentity:
    """Read and check a production chain (end-entity first) and its private key."""
    chain_pem = _read_file(cert_path, "signing certificate (WORKBENCH_SIGNING_CERT)")
    key_pem = _read_file(key_path, "signing key (WORKBENCH_SIGNING_KEY)")
    root_pem = _read_file(root_path, "trust anchors (WORKBENCH_TRUST_ANCHORS)") if root_path else None

    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError:
        raise ProvenanceError(f"signing certificate {cert_path} is not a PEM certificate chain") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise ProvenanceError(f"signing key {key_path} is not an unencrypted PEM private key") from None

    if certs[0].public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise ProvenanceError(
            f"signing key {key_path} does not match the first certificate in {cert_path} "
            "(the chain must start with the end-entity certificate)"
        )
    return SigningIdentity(chain_pem=chain_pem, key_pem=key_pem, root_pem=root_pem, alg=_alg_for_key(key, key_path))


def load_identity(settings: Settings) -> SigningIdentity:
    """The production identity when ``signing_cert``/``signing_key`` are set, else the development one."""
    cert, key = settings.signing_cert, settings.signing_key
    if cert is None and key is None:
        return ensure_dev_identity(settings.keys_dir)
    if cert is None or key is None:
        missing = "WORKBENCH_SIGNING_CERT" if cert is None else "WORKBENCH_SIGNING_KEY"
        raise ProvenanceError(f"production signing needs both a certificate and a key; set {missing} too")
    return load_production_identity(cert, key, settings.trust_anchors)


def trust_anchors_for(settings: Settings) -> bytes | None:
    """The PEM roots a verifier should trust: ``trust_anchors`` if set, else the development root
    (or the production identity's when only that is configured)."""
    if settings.trust_anchors is not None:
        return _read_file(settings.trust_anchors, "trust anchors (WORKBENCH_TRUST_ANCHORS)")
    if settings.signing_cert is None:
        return ensure_dev_identity(settings.keys_dir).root_pem
    return None


# -- helpers -----------------------------------------------------------------------------------


def _read_dev_identity(root_path: Path, chain_path: Path, key_path: Path) -> SigningIdentity:
    return SigningIdentity(
        chain_pem=chain_path.read_bytes(), key_pem=key_path.read_bytes(), root_pem=root_path.read_bytes()
    )


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _make_dev_chain() -> tuple[bytes, bytes, bytes]:
    now = dt.datetime.now(dt.timezone.utc) - _CLOCK_SKEW

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Creative Workbench Development Root CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Creative Workbench (development)"),
        ]
    )
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root_cert = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(digital_signature=False, key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(root_ski, critical=False)
        .sign(root_key, hashes.SHA256())
    )

    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Creative Workbench Development Signer"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Creative Workbench (development)"),
        ]
    )
    signer_cert = (
        x509.CertificateBuilder()
        .subject_name(signer_name)
        .issuer_name(root_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _SIGNER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, key_cert_sign=False, crl_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
        .sign(root_key, hashes.SHA256())
    )

    root_pem = root_cert.public_bytes(serialization.Encoding.PEM)
    chain_pem = signer_cert.public_bytes(serialization.Encoding.PEM) + root_pem
    key_pem = signer_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return root_pem, chain_pem, key_pem


def _key_usage(*, digital_signature: bool, key_cert_sign: bool, crl_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_atomic(path: Path, data: bytes, *, mode: int) -> None:
    """Write via a temp file that has ``mode`` before any byte lands, then rename into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # created 0600
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_file(path: Path, what: str) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise ProvenanceError(f"{what} not found: {path}")
    try:
        return path.read_bytes()
    except OSError as e:
        raise ProvenanceError(f"cannot read {what} {path}: {e.strerror}") from None


def _alg_for_key(key: object, key_path: Path) -> SigningAlg:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve: dict[str, SigningAlg] = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in by_curve:
            return by_curve[key.curve.name]
        raise ProvenanceError(f"signing key {key_path} uses curve {key.curve.name}; use P-256, P-384 or P-521")
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise ProvenanceError(f"signing key {key_path} is of an unsupported type; use an EC (P-256) key")
