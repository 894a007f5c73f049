"""`thads-hub pki init`, `sign` and `verify` as a tester uses them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from typer.testing import CliRunner

from hub.agency_ids import sandbox_agencies
from hub.cli import app
from hub.settings import Settings

runner = CliRunner()


def test_pki_init_is_idempotent_and_keys_are_private(hub_env: Settings, tmp_path: Path) -> None:
    first = runner.invoke(app, ["pki", "init"])
    assert first.exit_code == 0, first.output
    key_dir = hub_env.keys
    for agency in sandbox_agencies():
        assert (key_dir / f"{agency}.pem").exists()
        assert stat.S_IMODE(os.stat(key_dir / f"{agency}.key").st_mode) == 0o600
    before = {p.name: p.read_bytes() for p in key_dir.glob("*.key")}
    second = runner.invoke(app, ["pki", "init"])
    assert second.exit_code == 0 and "created nothing" in second.output
    assert {p.name: p.read_bytes() for p in key_dir.glob("*.key")} == before


def test_sign_then_verify_round_trip_and_tamper(hub_env: Settings, tmp_path: Path) -> None:
    assert runner.invoke(app, ["pki", "init"]).exit_code == 0
    doc = tmp_path / "judgment.xml"
    doc.write_text('<ba:BanAn xmlns:ba="urn:example:court:judgment:1"><ba:SoBanAn>12/2024/DS-ST</ba:SoBanAn>'
                   "</ba:BanAn>", encoding="utf-8")
    signed = runner.invoke(app, ["sign", "--as", "court", str(doc), "--case-ref", "THADS-1"])
    assert signed.exit_code == 0, signed.output
    env = tmp_path / "signed.xml"
    env.write_bytes(signed.stdout_bytes)

    ok = runner.invoke(app, ["verify", str(env)])
    assert ok.exit_code == 0, ok.output
    assert "signed by court" in ok.stderr and "12/2024/DS-ST" in ok.stdout

    env.write_bytes(signed.stdout_bytes.replace(b"12/2024/DS-ST", b"13/2024/DS-ST"))
    bad = runner.invoke(app, ["verify", str(env)])
    assert bad.exit_code == 2 and "SIGNATURE_INVALID" in bad.stderr
