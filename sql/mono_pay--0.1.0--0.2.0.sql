-- mono_pay 0.1.0 -> 0.2.0
\echo Use "ALTER EXTENSION mono_pay UPDATE TO '0.2.0'" to load this file. \quit

------------------------------------------------------------------------
-- Value rules: one blank rule, descriptions of at most 255 characters.
-- Rows stored before the upgrade are not re-checked (NOT VALID): the
-- worker fails a queued row it cannot send, with the reason.
------------------------------------------------------------------------
CREATE FUNCTION mono.is_blank(text) RETURNS boolean
AS 'MODULE_PATHNAME', 'mono_is_blank_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
ALTER DOMAIN mono.account_name
    ADD CONSTRAINT account_name_visible CHECK (NOT mono.is_blank(VALUE)) NOT VALID;
ALTER DOMAIN mono.description
    ADD CONSTRAINT description_length CHECK (char_length(VALUE) <= 255) NOT VALID;
ALTER DOMAIN mono.description
    ADD CONSTRAINT description_visible CHECK (NOT mono.is_blank(VALUE)) NOT VALID;
