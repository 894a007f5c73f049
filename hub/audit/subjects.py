"""The citizen-safe subject index.

People are found in the log by an HMAC of their citizen ID under a hub secret, never by the ID itself:
a leaked log or backup then gives an attacker nothing to enumerate (12-digit IDs have little entropy,
so a plain hash would be reversed by brute force in minutes; an HMAC without the secret cannot be).
Text shows only the masked form (079******123).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from hub.model.person_id import mask_person_id

SECRET_FILE = "subject-index.secret"


@dataclass(frozen=True)
class SubjectIndex:
    secret: bytes

    @classmethod
    def from_key_dir(cls, key_dir: Path, *, create: bool = True) -> SubjectIndex:
        """The secret lives beside the hub's keys (mode 0600); it is made on first use."""
        path = key_dir / SECRET_FILE
        if not path.exists():
            if not create:
                raise FileNotFoundError(path)
            key_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first: use theirs
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(32) + "\n")
        secret = bytes.fromhex(path.read_text().strip())
        if len(secret) < 32:
            raise ValueError(f"{path}: the subject-index secret must be at least 32 bytes")
        return cls(secret)

    def key(self, person_id: str) -> str:
        return hmac.new(self.secret, person_id.strip().encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def mask(person_id: str) -> str:
        return mask_person_id(person_id.strip())
