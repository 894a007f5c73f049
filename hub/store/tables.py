"""SQL tables of the durable store. Alembic migrations (hub/store/migrations) create them; this module
is the single description both the migrations and the repositories are checked against.

Judgments, parties and obligations are normalised because later work queries them (identity
resolution by name key and citizen ID, obligations per debtor). The case's collections that later
issues give their own tables (notifications, measures, payments...) are kept as validated JSON for now.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

# Named constraints so that migrations are reproducible on both SQLite and PostgreSQL.
metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

api_clients = Table(
    "api_clients", metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("key_id", String(32), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

judgments = Table(
    "judgments", metadata,
    Column("id", Uuid, primary_key=True),
    Column("number_text", String(64), nullable=False),
    Column("number_seq", Integer, nullable=False),
    Column("number_year", Integer, nullable=False),
    Column("case_type", String(8), nullable=False),
    Column("instance", String(8), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("court_code", String(200), nullable=False),
    Column("court_name", String(200), nullable=False),
    Column("court_level", String(16), nullable=False),
    Column("court_province", String(2)),
    Column("issued_on", Date, nullable=False),
    Column("effective_on", Date),
    Column("source_document_hash", String(64)),
    Column("received_at", DateTime(timezone=True)),
    # A court never issues the same number twice: this is what makes a re-pushed judgment a duplicate.
    UniqueConstraint("court_code", "number_text"),
)

parties = Table(
    "parties", metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("full_name", String(200), nullable=False),
    Column("name_key", String(200), nullable=False, index=True),
    Column("birth_date", Date),
    Column("gender", String(8)),
    Column("person_id", String(12), index=True),
    Column("legacy_id", String(9)),
    Column("tax_code", String(14)),
    Column("addresses", JSON, nullable=False),
    Column("extensions", JSON, nullable=False, server_default="{}"),
)

judgment_parties = Table(
    "judgment_parties", metadata,
    Column("judgment_id", Uuid, ForeignKey("judgments.id", ondelete="CASCADE"), primary_key=True),
    Column("party_id", Uuid, ForeignKey("parties.id"), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("position", Integer, nullable=False),
)

obligations = Table(
    "obligations", metadata,
    Column("id", Uuid, primary_key=True),
    Column("judgment_id", Uuid, ForeignKey("judgments.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("obligor_id", Uuid, ForeignKey("parties.id"), nullable=False, index=True),
    Column("obligee_id", Uuid, ForeignKey("parties.id")),
    Column("amount_vnd", BigInteger),
    Column("description", Text, nullable=False),
)

enforcement_cases = Table(
    "enforcement_cases", metadata,
    Column("id", Uuid, primary_key=True),
    Column("judgment_id", Uuid, ForeignKey("judgments.id"), nullable=False, index=True),
    Column("office_code", String(200), nullable=False),
    Column("office_name", String(200), nullable=False),
    Column("office_level", String(16), nullable=False),
    Column("office_province", String(2), nullable=False),
    Column("category", String(16), nullable=False),
    Column("status", String(24), nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("decision_number", String(200)),
    Column("decision_issued_on", Date),
    Column("decision_officer", String(200)),
    Column("details", JSON, nullable=False),
)

case_obligations = Table(
    "case_obligations", metadata,
    Column("case_id", Uuid, ForeignKey("enforcement_cases.id", ondelete="CASCADE"), primary_key=True),
    Column("obligation_id", Uuid, ForeignKey("obligations.id"), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("status", String(24), nullable=False),
    Column("collected_vnd", BigInteger, nullable=False),
)

# --- The tamper-evident message log (hub/audit). ---------------------------------------------------
# Every column of an entry, the key included, is covered by its hash: (partition, seq) is the primary
# key precisely so that there is no unhashed surrogate id an editor could change unnoticed.
message_log = Table(
    "message_log", metadata,
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("agency", String(32), nullable=False),
    Column("service", String(128)),
    Column("operation", String(128), nullable=False),
    Column("message_id", String(128)),
    Column("correlation_id", String(128)),
    Column("from_agency", String(32)),
    Column("to_agency", String(32)),
    Column("case_ref", String(128)),
    Column("officer", String(200)),
    Column("purpose", String(1024)),
    Column("subject_hmac", String(64), index=True),
    Column("subject_masked", String(32)),
    Column("payload_hash", String(64)),
    Column("size_bytes", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("error_code", String(64)),
    Column("latency_ms", Integer),
    Column("body", Text),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
)
Index("ix_message_log_case_ref", message_log.c.case_ref)
Index("ix_message_log_message_id", message_log.c.message_id)

# The head of each partition's chain; the row lock on it is the only thing writers of one partition
# share, so writers on different partitions never wait for each other.
log_heads = Table(
    "log_heads", metadata,
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

log_checkpoints = Table(
    "log_checkpoints", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("heads", JSON, nullable=False),
    Column("prev_checkpoint_hash", String(64), nullable=False),
    Column("checkpoint_hash", String(64), nullable=False),
    Column("signer_fingerprint", String(64), nullable=False),
    Column("signature", Text, nullable=False),
)

# Verification requests and their reports: the result a case system fetches in async mode.
verification_jobs = Table(
    "verification_jobs", metadata,
    Column("id", Uuid, primary_key=True),
    Column("client_name", String(100), nullable=False),
    Column("subject_hmac", String(64), nullable=False, index=True),
    Column("subject_masked", String(32), nullable=False),
    Column("case_ref", String(128), nullable=False),
    Column("officer", String(200), nullable=False),
    Column("purpose", String(1024), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("completeness", String(16)),
    Column("report", JSON),
    Column("callback_url", String(1000)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
)

# A re-verification batch (xác minh lại định kỳ): the upload's subjects are items, worked through by the
# workers; the item row, not the queue entry, is the record of whether a subject is done.
verification_batches = Table(
    "verification_batches", metadata,
    Column("id", Uuid, primary_key=True),
    Column("client_name", String(100), nullable=False),
    Column("officer", String(200), nullable=False),
    Column("purpose", String(1024), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("deadline_ms", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # queued, done
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
)

verification_batch_items = Table(
    "verification_batch_items", metadata,
    Column("batch_id", Uuid, ForeignKey("verification_batches.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("request", JSON, nullable=False),  # the subject and case as uploaded, validated
    Column("status", String(16), nullable=False),  # pending, running, done
    Column("attempts", Integer, nullable=False),
    Column("owner_entry", String(64)),  # the queue entry working on it; a re-delivery of it may take over
    Column("lease_until", DateTime(timezone=True)),
    Column("job_id", Uuid),
    Column("completeness", String(16)),
    Column("error_code", String(64)),  # why a subject could not be verified at all (status failed)
    Column("completed_at", DateTime(timezone=True)),
)

Index("ix_enforcement_cases_office_status", enforcement_cases.c.office_code, enforcement_cases.c.status)
Index("ix_verification_batch_items_status", verification_batch_items.c.batch_id, verification_batch_items.c.status)

# The transactional outbox: work for the queues staged in the same transaction as the record it belongs to
# (a command, a batch item), published to Redis by the relay in every worker. A row leaves the table's
# open set only once Redis holds its entry; a relay that dies mid-way leaves it to be published again.
outbox = Table(
    "outbox", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("queue", String(100), nullable=False),
    Column("fields", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(200)),
    Column("claimed_until", DateTime(timezone=True)),
    Column("published_at", DateTime(timezone=True)),
    Column("entry_id", String(64)),
)
Index("ix_outbox_open", outbox.c.published_at, outbox.c.id)

# Commands to agencies (docs/commands.md): a freeze, a release, a land restriction or a decision sent to the
# procuracy. The row, not the queue entry, decides what is done: a delivery finding it at an end state
# repeats nothing. ``natural_key`` is the agency's own idempotency key (decision + target), so the same act
# asked twice is one command.
commands = Table(
    "commands", metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("agency", String(64), nullable=False),
    Column("target", String(200), nullable=False),  # the account, certificate or document acted on
    Column("natural_key", String(400), nullable=False, unique=True),
    Column("case_ref", String(128), nullable=False),
    Column("decision_ref", String(100), nullable=False),
    Column("client_name", String(100), nullable=False),
    Column("officer", String(200), nullable=False),
    Column("purpose", String(1024), nullable=False),
    Column("payload", JSON, nullable=False),  # what the agency is asked, canonical
    Column("linked_to", Uuid),  # a freeze: the command carrying its decision's copy to the procuracy
    Column("status", String(16), nullable=False),  # queued, sent, acknowledged, failed, dead_lettered
    Column("attempts", Integer, nullable=False),
    Column("owner_entry", String(64)),  # the queue entry calling the agency now
    Column("lease_until", DateTime(timezone=True)),
    Column("closed_by_entry", String(64)),  # the entry that ended it; only a later entry (a replay) reopens it
    Column("agency_ref", String(200)),
    Column("receipt", JSON),
    Column("error_code", String(64)),
    Column("error_detail", String(2000)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
)

command_events = Table(
    "command_events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("command_id", Uuid, ForeignKey("commands.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempt", Integer),
    Column("agency_ref", String(200)),
    Column("error_code", String(64)),
    Column("detail", String(2000)),
)

# An Idempotency-Key a client sent with a command request, and the commands that request made.
command_requests = Table(
    "command_requests", metadata,
    Column("client_name", String(100), primary_key=True),
    Column("idempotency_key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("command_ids", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_commands_case_ref", commands.c.case_ref, commands.c.created_at)
Index("ix_command_events_command", command_events.c.command_id, command_events.c.id)

# --- Inbound (hub/inbound, hub/receipts) --------------------------------------------------------------
# Every message an agency pushed and the hub took in, by (sender, MessageId): a retransmission of the same
# bytes is answered from here with the first answer; another document under a known MessageId is a replay.
inbound_messages = Table(
    "inbound_messages", metadata,
    Column("agency", String(32), primary_key=True),
    Column("message_id", String(128), primary_key=True),
    Column("kind", String(16), nullable=False),  # judgment, action, bank_event
    Column("envelope_hash", String(64), nullable=False),
    Column("record_id", String(64), nullable=False),  # the intake, action or event it gave
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# Thụ lý: one per judgment taken in (the judgment's own unique (court, number) makes a re-push a duplicate).
# feed_seq numbers intakes for the case systems' cursor; it is given after commit, by the feed reader under
# a lock, so a cursor never passes an intake whose transaction was still open (see hub/inbound/feed.py).
intakes = Table(
    "intakes", metadata,
    Column("id", Uuid, primary_key=True),
    Column("judgment_id", Uuid, ForeignKey("judgments.id"), nullable=False, unique=True),
    Column("case_id", Uuid, ForeignKey("enforcement_cases.id"), nullable=False, unique=True),
    Column("intake_ref", String(64), nullable=False, unique=True),
    Column("case_ref", String(64), nullable=False, unique=True),
    Column("office_code", String(200), nullable=False),
    Column("agency", String(32), nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("envelope_hash", String(64)),
    Column("document_hash", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("resolutions", JSON, nullable=False),
    Column("feed_seq", BigInteger, unique=True),
)

# Gap-free numbers per office, year and series (case references, receipts): the row is updated in the
# transaction that uses the number, so a rolled-back transaction gives its number back.
office_counters = Table(
    "office_counters", metadata,
    Column("office_code", String(200), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("series", String(32), primary_key=True),
    Column("last", Integer, nullable=False),
)

# Evidence of each stage of an inbound document: accepted, duplicate, linked, delivered to a subscriber.
# Refusals are in the message log (outcome refused, with the code), where every exchange is.
inbound_evidence = Table(
    "inbound_evidence", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("agency", String(32), nullable=False),
    Column("message_id", String(128)),
    Column("stage", String(24), nullable=False),
    Column("record_id", String(64), index=True),
    Column("detail", JSON, nullable=False),
)
Index("ix_inbound_evidence_message", inbound_evidence.c.agency, inbound_evidence.c.message_id)

# Case systems' webhook subscriptions to new intake records.
subscriptions = Table(
    "subscriptions", metadata,
    Column("id", Uuid, primary_key=True),
    Column("client_name", String(100), nullable=False),
    Column("url", String(1000), nullable=False),
    Column("events", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

# Protests and recommendations of the procuracy, linked to a case when the hub knows it.
procuracy_actions = Table(
    "procuracy_actions", metadata,
    Column("id", Uuid, primary_key=True),
    Column("document_id", String(200), nullable=False, unique=True),
    Column("case_id", Uuid, ForeignKey("enforcement_cases.id"), index=True),
    Column("case_ref", String(200), nullable=False),
    Column("action", JSON, nullable=False),
    Column("details", JSON, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# Events the banks pushed: freeze confirmations and credit advices, once per (bank, event id).
bank_events = Table(
    "bank_events", metadata,
    Column("id", Uuid, primary_key=True),
    Column("bank_bin", String(6), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("case_id", Uuid, ForeignKey("enforcement_cases.id"), index=True),
    Column("event", JSON, nullable=False),
    Column("receipt_id", Uuid),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("bank_bin", "event_id"),
)

# Biên lai thu tiền điện tử: numbered per office and year without gaps, signed, verifiable by anyone.
receipts = Table(
    "receipts", metadata,
    Column("id", Uuid, primary_key=True),
    Column("office_code", String(200), nullable=False),
    Column("year", Integer, nullable=False),
    Column("series", String(32), nullable=False),
    Column("number", Integer, nullable=False),
    Column("case_id", Uuid, ForeignKey("enforcement_cases.id"), nullable=False, index=True),
    Column("payment_id", Uuid, nullable=False, unique=True),
    Column("receipt", JSON, nullable=False),
    Column("signed_xml", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("office_code", "year", "series", "number"),
)

# Notifications of parties (thông báo thi hành án, docs/notifications.md): one row per document and recipient.
# Its channels are commands (`commands`, target = the reference); what happened to it is below.
notifications = Table(
    "notifications", metadata,
    Column("id", Uuid, primary_key=True),
    Column("reference", String(64), nullable=False, unique=True),  # the sender's reference at VNeID and VNPost
    Column("natural_key", String(400), nullable=False, unique=True),  # case, document, recipient
    Column("request_hash", String(64), nullable=False),
    Column("case_ref", String(128), nullable=False, index=True),
    Column("client_name", String(100), nullable=False),
    Column("officer", String(200), nullable=False),
    Column("purpose", String(1024), nullable=False),
    Column("document_ref", String(100), nullable=False),
    Column("request", JSON, nullable=False),  # document, recipient and office as asked (the ID only in here)
    Column("policy", String(32), nullable=False),  # the channel policy applied
    Column("deadline", JSON, nullable=False),
    Column("due_by", Date, nullable=False),
    Column("channels", JSON, nullable=False),  # the channels tried, in order (a fallback letter is added)
    Column("status", String(16), nullable=False),
    Column("channel", String(16)),  # the channel that delivered it, or returned it
    Column("tracking_number", String(13)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("returned_reason", String(300)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Every delivery event, once per (source, the source's event id); events for no notification of this hub
# are kept too (notification_id NULL), so an operator can see what the operator pushed.
notification_events = Table(
    "notification_events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("notification_id", Uuid, ForeignKey("notifications.id"), index=True),
    Column("source", String(16), nullable=False),  # postal, vneid, hub
    Column("event_id", String(64), nullable=False),
    Column("sequence", Integer),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("effect", String(16), nullable=False),  # applied, stale (out of order or after the end), unmatched
    Column("detail", JSON, nullable=False),
    UniqueConstraint("source", "event_id"),
)

# Bulk payouts (chi trả, docs/payouts.md): one row per decision, its creditors' shares, and each attempt to
# pay a share (the first, then a re-send after a rejection) in a batch carried by a `payout_batch` command.
payouts = Table(
    "payouts", metadata,
    Column("id", Uuid, primary_key=True),
    Column("natural_key", String(300), nullable=False, unique=True),  # the office and the decision
    Column("request_hash", String(64), nullable=False),
    Column("case_ref", String(128), nullable=False, index=True),
    Column("client_name", String(100), nullable=False),
    Column("officer", String(200), nullable=False),
    Column("purpose", String(1024), nullable=False),
    Column("decision_ref", String(100), nullable=False),
    Column("decision", JSON, nullable=False),
    Column("total_vnd", BigInteger, nullable=False),
    Column("claims_vnd", BigInteger, nullable=False),
    Column("office_accounts", JSON, nullable=False),
    Column("creditors", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

payout_shares = Table(
    "payout_shares", metadata,
    Column("payout_id", Uuid, ForeignKey("payouts.id"), primary_key=True),
    Column("position", Integer, primary_key=True),  # the creditor's place in the request
    Column("name", String(200), nullable=False),
    Column("claim_vnd", BigInteger, nullable=False),
    Column("share_vnd", BigInteger, nullable=False),
)

payout_rounds = Table(
    "payout_rounds", metadata,
    Column("payout_id", Uuid, ForeignKey("payouts.id"), primary_key=True),
    Column("round", Integer, primary_key=True),  # 1: the payout; 2...: re-sends of the round before's rejections
    Column("request_hash", String(64), nullable=False),
    Column("corrections", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

payout_batches = Table(
    "payout_batches", metadata,
    Column("batch_id", String(35), primary_key=True),  # the message's MsgId: the bank's idempotency key
    Column("payout_id", Uuid, ForeignKey("payouts.id"), nullable=False, index=True),
    Column("round", Integer, nullable=False),
    Column("paying_bin", String(6), nullable=False),
    Column("debtor_account", String(24), nullable=False),
    Column("command_id", Uuid, nullable=False),
    Column("transfers", Integer, nullable=False),
    Column("amount_vnd", BigInteger, nullable=False),
    Column("report_id", String(64)),
)

payout_transfers = Table(
    "payout_transfers", metadata,
    Column("id", Uuid, primary_key=True),  # the payment id, the transfer's EndToEndId at the bank
    Column("payout_id", Uuid, ForeignKey("payouts.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("round", Integer, nullable=False),
    Column("batch_id", String(35), nullable=False, index=True),
    Column("bank_bin", String(6), nullable=False),
    Column("account_number", String(24), nullable=False),
    Column("name", String(200), nullable=False),
    Column("amount_vnd", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # pending, settled, rejected
    Column("reason_code", String(8)),
    Column("reason", String(200)),
    Column("bank_reference", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reported_at", DateTime(timezone=True)),
    UniqueConstraint("payout_id", "position", "round"),
)
Index("ix_payout_transfers_round", payout_transfers.c.payout_id, payout_transfers.c.round)
