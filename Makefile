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
	src/common_key.o \
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
	src/worker_dispatch.o \
	src/worker_queue.o \
	src/worker_status.o \
	src/worker_settings.o \
	src/worker_reconcile.o \
	src/worker_main.o

PG_CONFIG ?= pg_config
# the source tree: "." in place, elsewhere in an out-of-tree (VPATH) build,
# as pg_buildext makes in build-<version>/ (PGXS sets it the same way later)
srcdir ?= $(patsubst %/,%,$(dir $(firstword $(MAKEFILE_LIST))))
# the one home of the version: the control file (the worker checks the
# installed SQL against it; the HTTP client names it in its User-Agent)
EXTVERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(srcdir)/mono_pay.control)

# The SQL scripts are made from parts (sql/parts/10_common.schema.sql says
# how): the install script is every SCHEMA part, then every CODE part, each
# kind in file-name order (the layers); the upgrade script from version V is
# sql/upgrade/V--$(EXTVERSION).sql (what changed in the schema), then the
# same CODE parts. A new part is picked up by its name alone.
SCHEMA_PARTS = $(sort $(wildcard $(srcdir)/sql/parts/*.schema.sql))
CODE_PARTS = $(sort $(wildcard $(srcdir)/sql/parts/*.code.sql))
UPGRADE_FROM = $(patsubst $(srcdir)/sql/upgrade/%--$(EXTVERSION).sql,%,$(wildcard $(srcdir)/sql/upgrade/*--$(EXTVERSION).sql))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql \
	$(foreach v,$(UPGRADE_FROM),sql/$(EXTENSION)--$(v)--$(EXTVERSION).sql)
# the upgrade scripts of earlier releases, frozen as they were released
# (each was built from that release's parts; PGXS prefixes $(srcdir)/)
DATA = $(patsubst $(srcdir)/%,%,$(wildcard $(srcdir)/sql/released/*.sql))

# PostgreSQL's headers are system headers, so -Wextra judges our code only
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(shell $(PG_CONFIG) --includedir-server) \
	-DMONO_PAY_VERSION='"$(EXTVERSION)"'
# (tables of statements and settings name only what they set: the rest is zero)
# (no -Werror here: a newer compiler's new warning must not break a
# packager's build; test/run builds with COPT=-Werror)
PG_CFLAGS = -Wall -Wextra -Wno-missing-field-initializers
SHLIB_LINK = -lcurl -ljansson

# `make installcheck` (any running server: PGHOST, PGPORT, PGUSER as usual;
# no simulator, no worker, no database to prepare): pg_regress makes
# contrib_regression and runs test/sql/<name>.sql against
# test/expected/<name>.out, then the isolation specs test/specs/<name>.spec
# against test/expected/<name>.out in a database of the same name
REGRESS = $(sort $(patsubst $(srcdir)/test/sql/%.sql,%,$(wildcard $(srcdir)/test/sql/*.sql)))
REGRESS_OPTS = --inputdir=$(srcdir)/test
ISOLATION = $(sort $(patsubst $(srcdir)/test/specs/%.spec,%,$(wildcard $(srcdir)/test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=$(srcdir)/test

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# one database name for both (set after PGXS, which sets its own): the one
# a mono_pay worker never claims
ISOLATION_TESTDB = contrib_regression

# test/upgrade/mono_pay--0.1.0.sql and --0.2.0.sql are the released install
# scripts, frozen: fixtures of the upgrade tests, never installed by `make
# install` nor shipped in a package (PostgreSQL keeps only the newest install
# script and the upgrade scripts). test/run installs them into its own
# server; `make installcheck` elsewhere skips the upgrade test without them.
.PHONY: install-upgrade-fixture
install-upgrade-fixture:
	$(INSTALL_DATA) $(wildcard $(srcdir)/test/upgrade/$(EXTENSION)--*.sql) '$(DESTDIR)$(datadir)/extension/'

# every object depends on every header of src/ (PGXS tracks none: a struct
# grown in common.h left stale objects with the old layout, and a worker
# that crashed on its shared memory)
$(OBJS): $(wildcard $(srcdir)/src/*.h)

# an out-of-tree build writes its objects and scripts under its own src/, sql/
$(OBJS) $(DATA_built): | mono-build-dirs
.PHONY: mono-build-dirs
mono-build-dirs:
	@mkdir -p src sql

# (the folder too: a part added or removed changes its time)
sql/$(EXTENSION)--$(EXTVERSION).sql: $(srcdir)/sql/parts $(SCHEMA_PARTS) $(CODE_PARTS)
	cat $(filter %.sql,$^) >$@.tmp && mv $@.tmp $@

sql/$(EXTENSION)--%--$(EXTVERSION).sql: $(srcdir)/sql/upgrade/%--$(EXTVERSION).sql $(srcdir)/sql/parts $(CODE_PARTS)
	cat $(filter %.sql,$^) >$@.tmp && mv $@.tmp $@

.PHONY: test demo
test:
	test/run

demo:
	test/demo

# `make dist`: the release archive for PGXN, mono_pay-<version>.zip, made by
# git archive from the committed tree (HEAD): META.json's version must be
# the control file's, and META.json must pass test/lib/check-meta
DISTVERSION = $(shell sed -n 's/^   "version": "\(.*\)",$$/\1/p' $(srcdir)/META.json)
.PHONY: dist
dist:
	@test "$(DISTVERSION)" = "$(EXTVERSION)" || { echo "make dist: META.json has version $(DISTVERSION), mono_pay.control $(EXTVERSION)" >&2; exit 1; }
	$(srcdir)/test/lib/check-meta $(srcdir)/META.json
	git -C $(srcdir) archive --format=zip --prefix=$(EXTENSION)-$(DISTVERSION)/ -o $(CURDIR)/$(EXTENSION)-$(DISTVERSION).zip HEAD
	@echo "made $(EXTENSION)-$(DISTVERSION).zip"

# mono_pay_receiver (receiver/): the webhook receiver, a program of its own
# beside the database, built with the same PG_CONFIG and installed into its
# bindir
.PHONY: receiver install-receiver uninstall-receiver clean-receiver
all: receiver
receiver:
	$(MAKE) -C $(srcdir)/receiver PG_CONFIG='$(PG_CONFIG)'
install: install-receiver
install-receiver: receiver
	$(MAKE) -C $(srcdir)/receiver PG_CONFIG='$(PG_CONFIG)' install
uninstall: uninstall-receiver
uninstall-receiver:
	$(MAKE) -C $(srcdir)/receiver PG_CONFIG='$(PG_CONFIG)' uninstall
clean: clean-receiver
clean-receiver:
	$(MAKE) -C $(srcdir)/receiver PG_CONFIG='$(PG_CONFIG)' clean
