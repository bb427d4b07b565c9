-- mono_pay 0.2.0 -> 0.3.0: what changed in the schema (tables, types,
-- columns, data). The Makefile appends every CODE part of sql/parts/ to
-- this file, so functions, views and triggers are (re)created from the
-- same source as a fresh install. Sections follow the issues of 0.3.0.
\echo Use "ALTER EXTENSION mono_pay UPDATE TO '0.3.0'" to load this file. \quit


-- issue 21: the webhook receiver left the server's process tree; it is the
-- program mono_pay_receiver now (its /metrics page replaces the status)
DROP FUNCTION IF EXISTS mono_receiver_status();
