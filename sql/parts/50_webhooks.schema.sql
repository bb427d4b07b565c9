------------------------------------------------------------------------
-- Webhooks: every event received, from Mono (Direct Charge and Connect)
-- or read back by polling
------------------------------------------------------------------------

-- rejected: the database cannot take the event (kept aside with its error);
-- unknown: a status mono_pay cannot map (kept, listed in mono.orphans)
CREATE DOMAIN mono.webhook_outcome AS text CHECK (VALUE IN
    ('applied', 'ignored', 'stale', 'unmatched', 'rejected', 'unknown'));

-- Every webhook received, raw, de-duplicated by event_id (or a body hash).
CREATE TABLE mono.webhook_events (
    id              bigserial PRIMARY KEY,
    event_id        text NOT NULL UNIQUE,
    event           text NOT NULL,
    body            jsonb NOT NULL,
    mono_ref        text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    applied_at      timestamptz,
    outcome         mono.webhook_outcome NOT NULL,
    -- why a rejected event could not be applied
    error           text,
    -- the body exactly as received (body is its parsed form: jsonb
    -- reorders keys and writes 1.50 as 1.5), but for a BVN, masked in
    -- both (mono.mask_event_pii()); NULL for events stored before 0.2.0
    -- and for polled reads
    raw             text
);
CREATE INDEX webhook_events_received ON mono.webhook_events (received_at);
-- events waiting for the Mono id they name (e.g. approved before created)
CREATE INDEX webhook_events_unmatched ON mono.webhook_events (mono_ref)
    WHERE outcome = 'unmatched';

-- pg_dump keeps every table and sequence that holds user data
SELECT pg_catalog.pg_extension_config_dump('mono.webhook_events', '');
SELECT pg_catalog.pg_extension_config_dump('mono.webhook_events_id_seq', '');
