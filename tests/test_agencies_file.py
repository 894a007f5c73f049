"""The agencies file: written by the sandbox, read back unchanged, refused with the field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.agencies import AgencyAuth, AgencyConfig, load_agencies, write_agencies
from hub.errors import HubError


def test_round_trip(tmp_path: Path) -> None:
    agencies = {
        "land": AgencyConfig(protocol="soap", base_url="http://127.0.0.1:8100/land",
                             wsdl="http://127.0.0.1:8100/land?wsdl", certificate=tmp_path / "land.pem"),
        "population": AgencyConfig(protocol="rest", base_url="http://127.0.0.1:8100/population",
                                   auth=AgencyAuth(kind="oauth2_client_credentials", client_id="thads-hub",
                                                   client_secret='s"ecret')),
    }
    path = tmp_path / "agencies.toml"
    write_agencies(path, agencies)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_agencies(path) == agencies


def test_errors_name_the_agency_and_field(tmp_path: Path) -> None:
    path = tmp_path / "agencies.toml"
    path.write_text('[agencies.land]\nprotocol = "soap"\nbase_url = "ftp://x"\n')
    with pytest.raises(HubError) as caught:
        load_agencies(path)
    assert "agencies.land.base_url" in caught.value.detail
    path.write_text('[agencies.tax]\nprotocol = "rest"\nbase_url = "http://x"\n')
    with pytest.raises(HubError) as caught:
        load_agencies(path)
    assert "tax" in caught.value.detail
