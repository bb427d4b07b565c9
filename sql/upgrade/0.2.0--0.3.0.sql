-- mono_pay 0.2.0 -> 0.3.0: what changed in the schema (tables, types,
-- columns, data). The Makefile appends every CODE part of sql/parts/ to
-- this file, so functions, views and triggers are (re)created from the
-- same source as a fresh install. Sections follow the issues of 0.3.0.
\echo Use "ALTER EXTENSION mono_pay UPDATE TO '0.3.0'" to load this file. \quit

-- issue 26: a phone probe of the claim stays an index look-up whatever
-- ANALYZE saw (20_owo.schema.sql); the statistics taken again with it
ALTER TABLE mono.fund_requests ALTER COLUMN phone SET (n_distinct = -1);
ANALYZE mono.fund_requests;
