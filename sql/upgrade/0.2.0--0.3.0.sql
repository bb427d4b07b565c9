-- mono_pay 0.2.0 -> 0.3.0: what changed in the schema (tables, types,
-- columns, data). The Makefile appends every CODE part of sql/parts/ to
-- this file, so functions, views and triggers are (re)created from the
-- same source as a fresh install. Sections follow the issues of 0.3.0.
\echo Use "ALTER EXTENSION mono_pay UPDATE TO '0.3.0'" to load this file. \quit


-- issue 22a: statuses Mono reports that mono_pay cannot map are kept as
-- events with the outcome unknown (listed in mono.orphans)
ALTER DOMAIN mono.webhook_outcome DROP CONSTRAINT webhook_outcome_check;
ALTER DOMAIN mono.webhook_outcome ADD CONSTRAINT webhook_outcome_check CHECK (VALUE IN
    ('applied', 'ignored', 'stale', 'unmatched', 'rejected', 'unknown'));
-- issue 22a: requests with a description longer than the 255 characters
-- Mono takes, failed by 0.2.0 as "cannot be encoded as JSON", say why
UPDATE mono.fund_requests
   SET last_error = 'mono_pay could not build a request Mono takes from this row: '
                    'its description is longer than the 255 characters Mono takes'
 WHERE status = 'failed' AND char_length(description) > 255
   AND last_error LIKE '%cannot be encoded as JSON';
