"""Playing a bank that tells the enforcement system about money arriving: credit advices (BaoCo) for
transfers from judgment debtors' accounts to the enforcement office's account, as signed envelopes ready
for the pusher (``sandbox_mocks.framework.pusher.push``), and the sender that posts them.

The transfers come from the seeded world: each is paid by an obligor of a judgment with a sum to pay,
from one of their open accounts (at any bank), and carries the payment reference the office asked for in
its transfer note, e.g. "THA 100/QD-THADS THADS-48-2016-0001". The same seed gives the same transfers
(same MaGiaoDich, payers, amounts and notes), so a receiver can be checked for de-duplication by the
bank's transaction id; each call still makes fresh envelopes (new MessageId, Created, Expires).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from lxml import etree

from adapters.envelope import NS as ENV_NS
from adapters.envelope import EnvelopeFields, EnvelopeSigner, build_envelope
from adapters.xml_hardened import parse_xml
from sandbox_mocks.bank.wire import (
    DEFAULT_OFFICE_NAME,
    EVENT_SERVICE,
    checked,
    element,
    name_key,
    sub,
    vn_time,
)
from sandbox_mocks.framework.pusher import Ack, PushItem, Send
from sandbox_mocks.seed.world import Account, Judgment, World

CONTENT_TYPE = "application/xml"
# Items are prepared before a push that may run for a while; the hub remembers a MessageId until Expires.
DEFAULT_TTL = dt.timedelta(hours=1)
_PAYABLE = ("pay_money", "court_fee")

CaseRefOf = Callable[[Judgment, int], str]


def default_case_ref(judgment: Judgment, index: int) -> str:
    """A plausible enforcement case reference for the ``index``-th judgment of the world."""
    return f"THADS-{judgment.court_province_code}-{judgment.effective_on.year}-{index + 1:04d}"


def payment_reference(judgment: Judgment, index: int, case_ref_of: CaseRefOf = default_case_ref) -> str:
    """The transfer note an office asks debtors to write: the decision to enforce and the case. Banks carry
    notes without diacritics, hence QD, not QĐ."""
    return f"THA {100 + index}/QD-THADS {case_ref_of(judgment, index)}"


def _payers(world: World) -> list[tuple[int, Judgment, int, Account]]:
    """(judgment index, judgment, amount owed, open account of the obligor) for every debt a debtor can pay."""
    found = []
    for index, judgment in enumerate(world.judgments):
        for disposition in judgment.dispositions:
            if disposition.kind not in _PAYABLE or not disposition.amount_vnd:
                continue
            for account in world.accounts_of(disposition.obligor):
                if account.status == "active":
                    found.append((index, judgment, disposition.amount_vnd, account))
    return found


def _amount(rng: random.Random, owed: int) -> int:
    """The whole debt when small, else an instalment in round millions: how debtors actually pay."""
    if owed <= 20_000_000:
        return owed
    return min(owed, rng.randint(1, 50) * 1_000_000)


def transfer_push_items(world: World, key_dir: Path, bank_bin: str, *, count: int, office_account: str,
                        seed: int = 0, office_name: str = DEFAULT_OFFICE_NAME, ttl: dt.timedelta = DEFAULT_TTL,
                        case_ref_of: CaseRefOf = default_case_ref) -> list[PushItem]:
    """``count`` credit advices of bank ``bank_bin``, each a bank-signed envelope (Operation "BaoCo") for
    one transfer into ``office_account``; ``item_id`` is the envelope's MessageId."""
    if count < 0:
        raise ValueError("count must not be negative")
    payers = _payers(world)
    if not payers:
        raise ValueError("the world has no judgment debtor with an open account")
    agency = f"bank-{bank_bin}"
    signer = EnvelopeSigner.from_key_dir(key_dir, agency)
    rng = random.Random(f"bank-transfers:{seed}:{bank_bin}")
    now = dt.datetime.now(dt.UTC)
    items = []
    for n in range(count):
        index, judgment, owed, account = rng.choice(payers)
        event = element("BaoCo")
        sub(event, "MaGiaoDich", f"FT{bank_bin}{rng.randrange(10**14):014d}")
        sub(event, "MaNganHang", bank_bin)
        sub(event, "SoTaiKhoanNhan", office_account)
        sub(event, "TenTaiKhoanNhan", name_key(office_name))
        sub(event, "SoTien", _amount(rng, owed))
        sub(event, "TenNguoiChuyen", name_key(account.holder_name))
        sub(event, "SoTaiKhoanChuyen", account.account_number)
        sub(event, "MaNganHangChuyen", account.bank_bin)
        sub(event, "NoiDung", payment_reference(judgment, index, case_ref_of))
        # Transfers that happened a second apart, the last one just now.
        sub(event, "ThoiGian", vn_time(now - dt.timedelta(seconds=count - n)))
        checked(event, "a credit advice")
        header = EnvelopeFields(message_id=str(uuid.uuid4()), from_agency=agency, to_agency="hub",
                                service=EVENT_SERVICE, operation="BaoCo", created=now, expires=now + ttl)
        body = signer.sign_bytes(build_envelope(header, event))
        items.append(PushItem(item_id=header.message_id, body=body, content_type=CONTENT_TYPE))
    return items


def _problem_code(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def xml_sender(url: str, *, timeout_s: float = 10) -> tuple[Send, Callable[[], Awaitable[None]]]:
    """A ``Send`` for the pusher posting each item's bytes to ``url``, and the coroutine that closes it.

    2xx is acknowledged; otherwise the code is the problem+json ``code`` when the receiver sent one, and
    the report shows the HTTP status when it did not."""
    client: httpx.AsyncClient | None = None

    async def send(item: PushItem) -> Ack:
        nonlocal client
        if client is None:  # made inside the running loop that will use it
            client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        response = await client.post(url, content=item.body,
                                     headers={"Content-Type": item.content_type, **dict(item.headers)})
        if 200 <= response.status_code < 300:
            return Ack(status=response.status_code, acknowledged=True)
        return Ack(status=response.status_code, acknowledged=False, code=_problem_code(response),
                   detail=response.text[:200] or None)

    async def close() -> None:
        nonlocal client
        if client is not None:
            await client.aclose()
            client = None

    return send, close


def credit_advice(item: PushItem) -> etree._Element:
    """The BaoCo element of a prepared item, unverified: for a tester's own bookkeeping, never for trust."""
    body = parse_xml(item.body).find(f"{{{ENV_NS}}}Body")
    if body is None or len(body) != 1:
        raise ValueError("not an envelope with one body document")
    return body[0]
