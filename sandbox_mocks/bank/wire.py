"""What every bank writes the same way: the interbank contract's namespace, element building, the banks'
date, time, name and transaction-id formats, and the schema answers and events are checked against.

The contract is mappings/bank/contracts/ngan-hang.xsd, read as data: one interbank specification that
every BIN serves, so these helpers are shared by the mock and by the events it pushes.
"""

from __future__ import annotations

import datetime as dt

from lxml import etree

from adapters.refusal import Refusal
from adapters.xsd import CompiledSchema
from sandbox_mocks.framework.agency import CONTRACTS_ROOT
from sandbox_mocks.seed.spelling import upper_ascii

NS = "urn:vn:napas:thads:nganhang:1"
CONTRACT_DIR = CONTRACTS_ROOT / "bank" / "contracts"
WSDL_FILE = "ngan-hang.wsdl"
XSD_FILE = "ngan-hang.xsd"
# Viet Nam keeps UTC+07:00 all year (no daylight saving): the banks' dates and times are local.
VN_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")
# Where the hub takes bank events (Conventions: hub inbound paths).
EVENTS_PATH = "/v1/inbound/banks/{bin}/events"
EVENT_SERVICE = "bank"
# The enforcement office whose account receives transfers and pays out in the sandbox. The number starts
# with 0, which no account of the seeded world does, so it can never be mistaken for a debtor's account.
DEFAULT_OFFICE_ACCOUNT = "0071000868686"
DEFAULT_OFFICE_NAME = "Thi hành án dân sự Thành phố Hồ Chí Minh"


def q(local: str) -> str:
    return f"{{{NS}}}{local}"


def element(local: str) -> etree._Element:
    return etree.Element(q(local), nsmap={"nh": NS})


def sub(parent: etree._Element, local: str, text: str | int | None = None) -> etree._Element:
    child = etree.SubElement(parent, q(local))
    if text is not None:
        child.text = str(text)
    return child


def text_of(parent: etree._Element, path: str) -> str:
    """The stripped text at ``path``, written with bare local names ("Dbtr/Nm"); "" when absent."""
    return (parent.findtext("/".join(q(step) for step in path.split("/"))) or "").strip()


def xs_boolean(text: str) -> bool:
    return text.strip() in ("true", "1")


def xs_bool_text(value: bool) -> str:
    return "true" if value else "false"


def vn_time(at: dt.datetime) -> str:
    return at.astimezone(VN_TIME).strftime("%d/%m/%Y %H:%M:%S")


def iso_time(at: dt.datetime) -> str:
    """ISO 20022 documents keep ISO times; a bank writes its local offset."""
    return at.astimezone(VN_TIME).isoformat(timespec="seconds")


def name_key(name: str) -> str:
    """How the banks compare a holder's name: upper case, no diacritics, single spaces (NGUYEN VAN HOA)."""
    return upper_ascii(name)


def transaction_id(kind: str, bank_bin: str, at: dt.datetime, sequence: int) -> str:
    """A bank transaction id: kind (PT freeze, GT release, CT payout, FT incoming), BIN, local date, number."""
    return f"{kind}{bank_bin}{at.astimezone(VN_TIME):%Y%m%d}{sequence:06d}"


def schema() -> CompiledSchema:
    return CompiledSchema.load(CONTRACT_DIR / XSD_FILE)


def checked(document: etree._Element, what: str) -> etree._Element:
    """``document`` if the published contract accepts it: a bank never sends what its contract refuses, so a
    world the contract cannot express fails loudly (a Receiver fault), not silently."""
    try:
        schema().validate(document)
    except Refusal as exc:
        raise Refusal(f"the bank built {what} its contract refuses: {exc.detail}", code="INTERNAL",
                      rule="answer_schema") from None
    return document
