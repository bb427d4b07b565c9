# mono_pay: Mono Direct Charge and Connect inside PostgreSQL (PGXS build)

EXTENSION = mono_pay
MODULE_big = mono_pay

# one object per file of src/, listed by layer (see src/common.h)
OBJS = \
	src/mono_pay.o \
	src/common_settings.o \
	src/common_shmem.o \
	src/common_spi.o \
	src/common_http.o \
	src/common_json.o \
	src/common_values.o \
	src/common_retry.o \
	src/common_job.o \
	src/common_quorum.o \
	src/common_ha.o \
	src/common_seal.o \
	src/common_notify.o \
	src/owo_validate.o \
	src/owo_enqueue.o \
	src/owo_batch.o \
	src/owo_body.o \
	src/owo_queue.o \
	src/owo_outcome.o \
	src/owo_wait.o \
	src/connect_parse.o \
	src/connect_sql.o \
	src/connect_worker.o \
	src/webhook_ingest.o \
	src/webhook_receiver.o \
	src/webhook_server.o \
	src/worker_dispatch.o \
	src/worker_queue.o \
	src/worker_status.o \
	src/worker_settings.o \
	src/worker_main.o

PG_CONFIG ?= pg_config
# the one home of the version: the control file (the worker checks the
# installed SQL against it; the HTTP client names it in its User-Agent)
EXTVERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" mono_pay.control)

# The SQL scripts are made from parts (sql/parts/10_common.schema.sql says
# how): the install script is every SCHEMA part, then every CODE part, each
# kind in file-name order (the layers); the upgrade script from version V is
# sql/upgrade/V--$(EXTVERSION).sql (what changed in the schema), then the
# same CODE parts. A new part is picked up by its name alone.
SCHEMA_PARTS = $(sort $(wildcard sql/parts/*.schema.sql))
CODE_PARTS = $(sort $(wildcard sql/parts/*.code.sql))
UPGRADE_FROM = $(patsubst sql/upgrade/%--$(EXTVERSION).sql,%,$(wildcard sql/upgrade/*--$(EXTVERSION).sql))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql \
	$(foreach v,$(UPGRADE_FROM),sql/$(EXTENSION)--$(v)--$(EXTVERSION).sql)
# the upgrade scripts of earlier releases, frozen as they were released
# (each was built from that release's parts)
DATA = $(wildcard sql/released/*.sql)

# PostgreSQL's headers are system headers, so -Wextra judges our code only
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(shell $(PG_CONFIG) --includedir-server) \
	-DMONO_PAY_VERSION='"$(EXTVERSION)"'
# (tables of statements and settings name only what they set: the rest is zero)
PG_CFLAGS = -Wall -Wextra -Werror -Wno-missing-field-initializers
SHLIB_LINK = -lcurl -ljansson -lmicrohttpd

# `make installcheck` (any running server: PGHOST, PGPORT, PGUSER as usual;
# no simulator, no worker, no database to prepare): pg_regress makes
# contrib_regression and runs test/sql/<name>.sql against
# test/expected/<name>.out, then the isolation specs test/specs/<name>.spec
# against test/expected/<name>.out in a database of the same name
REGRESS = $(sort $(patsubst test/sql/%.sql,%,$(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test
ISOLATION = $(sort $(patsubst test/specs/%.spec,%,$(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# one database name for both (set after PGXS, which sets its own): the one
# a mono_pay worker never claims
ISOLATION_TESTDB = contrib_regression

# test/upgrade/mono_pay--0.1.0.sql and --0.2.0.sql are the released install
# scripts, frozen: fixtures of the upgrade tests, not installed by `make
# install` (PostgreSQL keeps only the newest install script and the upgrade
# scripts). The upgrade tests need them in the server's extension directory.
installcheck: install-upgrade-fixture
.PHONY: install-upgrade-fixture
install-upgrade-fixture:
	$(INSTALL_DATA) $(wildcard test/upgrade/$(EXTENSION)--*.sql) '$(DESTDIR)$(datadir)/extension/'

# (the folder too: a part added or removed changes its time)
sql/$(EXTENSION)--$(EXTVERSION).sql: sql/parts $(SCHEMA_PARTS) $(CODE_PARTS)
	cat $(filter %.sql,$^) >$@.tmp && mv $@.tmp $@

sql/$(EXTENSION)--%--$(EXTVERSION).sql: sql/upgrade/%--$(EXTVERSION).sql sql/parts $(CODE_PARTS)
	cat $(filter %.sql,$^) >$@.tmp && mv $@.tmp $@

.PHONY: test demo
test:
	test/run

demo:
	test/demo
