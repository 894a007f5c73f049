"""Agency ids of the Conventions: the connector name, the --as value, the key file stem and the
certificate OU all use exactly these."""

from __future__ import annotations

import re

AGENCY_ID_PATTERN = r"^(hub|court|procuracy|population|land|postal|bank-\d{6})$"
AGENCY_ID = re.compile(AGENCY_ID_PATTERN)
