# Thin wrapper around meson/ninja. `make` builds build/owctl; `make test`
# and `make demo` first install the Debian packages they need.
BUILD ?= build
ASAN ?= build-asan
PREFIX ?= /usr/local
MESON_FLAGS ?=
SECONDS ?= 60

all: $(BUILD)/build.ninja
	ninja -C $(BUILD) --quiet

$(BUILD)/build.ninja:
	@scripts/install-deps
	meson setup $(MESON_FLAGS) $(BUILD) >/dev/null

$(ASAN)/build.ninja:
	meson setup -Db_sanitize=address,undefined -Db_lundef=false \
		--buildtype=debug $(ASAN) >/dev/null

deps:
	@scripts/install-deps

test: deps all $(ASAN)/build.ninja
	ninja -C $(ASAN) --quiet
	scripts/run-tests $(BUILD) $(ASAN)

demo: deps all
	scripts/demo

install: all
	meson configure -Dprefix=$(PREFIX) $(BUILD) >/dev/null
	meson install -C $(BUILD) --destdir "$(DESTDIR)" >/dev/null

# libFuzzer targets with clang in build-fuzz/, each for SECONDS (fuzz/run).
fuzz: deps
	fuzz/run -s $(SECONDS)

# cppcheck + clang-tidy over lib/ and src/, zero findings (scripts/lint).
lint: deps
	scripts/lint

# build/owctl_<version>_<arch>.deb (scripts/make-deb).
deb: deps
	scripts/make-deb $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN) demo build-fuzz build-lint build-deb

.PHONY: all deps test demo install clean fuzz lint deb
