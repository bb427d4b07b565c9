-- mono_pay 0.2.0 -> 0.3.0: what changed in the schema (tables, types,
-- columns, data). The Makefile appends every CODE part of sql/parts/ to
-- this file, so functions, views and triggers are (re)created from the
-- same source as a fresh install. Sections follow the issues of 0.3.0.
\echo Use "ALTER EXTENSION mono_pay UPDATE TO '0.3.0'" to load this file. \quit


-- issue 23: restored rows leave a mark in mono.node_identity (the trigger
-- mono.restored_rows(), in the code part), which pauses the worker
ALTER TABLE mono.node_identity DROP CONSTRAINT node_identity_recorded_by_check,
    ADD CONSTRAINT node_identity_recorded_by_check
    CHECK (recorded_by IN ('create extension', 'pg_restore', 'upgrade', 'mono_resume',
                           'restored rows'));
