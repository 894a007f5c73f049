"""`thads-hub pki init`: a sandbox root CA and one key + certificate per agency, idempotently.

Key types alternate on purpose so both signature algorithms of the Conventions are exercised every
day: RSA-2048 for the hub, court, procuracy and land registry; ECDSA P-256 for the population database,
the postal service and the banks.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from adapters.agency_id import AGENCY_ID
from adapters.pki import KeyType, fingerprint, issue, load_cert, load_key, root_ca, write_cert, write_key

_RSA_AGENCIES = {"hub", "court", "procuracy", "land"}


def key_type_for(agency: str) -> KeyType:
    return "rsa" if agency in _RSA_AGENCIES else "ec"


@dataclass
class PkiReport:
    key_dir: Path
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def init_pki(key_dir: Path, agencies: list[str]) -> PkiReport:
    for agency in agencies:
        if not AGENCY_ID.match(agency):
            raise ValueError(f"not an agency id of the Conventions: {agency!r}")
    key_dir.mkdir(parents=True, exist_ok=True)
    key_dir.chmod(0o700)
    report = PkiReport(key_dir=key_dir)
    ca_key_path, ca_cert_path = key_dir / "ca.key", key_dir / "ca.pem"
    if ca_key_path.exists() and ca_cert_path.exists():
        ca_key, ca_cert = load_key(ca_key_path), load_cert(ca_cert_path)
        report.kept.append("ca")
    else:
        ca_key, ca_cert = root_ca()
        write_key(ca_key_path, ca_key)
        write_cert(ca_cert_path, ca_cert)
        report.created.append("ca")
    for agency in agencies:
        key_path, cert_path = key_dir / f"{agency}.key", key_dir / f"{agency}.pem"
        if key_path.exists() and cert_path.exists():
            report.kept.append(agency)
        else:
            key, cert = issue(ca_key, ca_cert, agency, key_type=key_type_for(agency))
            write_key(key_path, key)
            write_cert(cert_path, cert)
            report.created.append(agency)
        pinned = key_dir / "trust" / agency / f"{fingerprint(load_cert(cert_path))[:16]}.pem"
        if not pinned.exists():
            pinned.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cert_path, pinned)
    return report
