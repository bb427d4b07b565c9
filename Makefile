# mono_pay: Mono Direct Charge and Connect inside PostgreSQL (PGXS build)

EXTENSION = mono_pay
MODULE_big = mono_pay
DATA = $(wildcard sql/mono_pay--*.sql)

OBJS = \
	src/mono_pay.o \
	src/validate.o \
	src/http.o \
	src/json.o \
	src/owo.o \
	src/enqueue.o \
	src/batch.o \
	src/wait.o \
	src/queue.o \
	src/outcome.o \
	src/dispatch.o \
	src/connect.o \
	src/connect_parse.o \
	src/connect_sql.o \
	src/webhook.o \
	src/notify.o \
	src/worker.o \
	src/ha.o

PG_CONFIG ?= pg_config

# PostgreSQL's headers are system headers, so -Wextra judges our code only
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(shell $(PG_CONFIG) --includedir-server)
PG_CFLAGS = -Wall -Wextra -Werror
SHLIB_LINK = -lcurl -ljansson

# pg_regress suite: sql/<name>.sql (not the install scripts) against expected/<name>.out
REGRESS = $(sort $(patsubst sql/%.sql,%,$(filter-out sql/mono_pay--%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --use-existing

# isolation specs: specs/<name>.spec against expected/<name>.out
ISOLATION = $(sort $(patsubst specs/%.spec,%,$(wildcard specs/*.spec)))
ISOLATION_OPTS = --use-existing

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# the database pg_regress uses (set after PGXS, which sets its own): the
# wrong-database refusal of CREATE EXTENSION exempts contrib_regression
CONTRIB_TESTDB = contrib_regression
ISOLATION_TESTDB = contrib_regression

.PHONY: test demo
test:
	test/run

demo:
	test/demo
