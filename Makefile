# Shanyrak: `make demo` runs the service on synthetic data, `make test` runs every test.
SWIFT ?= swift
PYTHON ?= python3
VENV := .venv
DEMO_DATA ?= demo-data
HOUSEHOLDS ?= 10000
PORT ?= 8080

.PHONY: all deps venv build test lint format demo clean bench bench-server

# The Swift files swift-format checks (.swift-format at the top; Tests/ and Benchmarks/ allow force unwraps).
FORMAT_PATHS := Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/Benchmarks

all: build

deps:
	@scripts/check-deps.sh
	@chmod 600 keys-example/*.key  # git does not keep modes; shanyrak refuses readable secrets

$(VENV)/.installed: scripts/requirements-test.txt
	@$(PYTHON) -m venv $(VENV) || { echo "shanyrak: needs python3 with venv (apt-get install python3-venv)" >&2; exit 1; }
	@$(VENV)/bin/pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
	@touch $@

venv: $(VENV)/.installed

build: deps
	$(SWIFT) build

test: deps venv lint
	$(SWIFT) build --build-tests
	SHANYRAK_PYTHON=$(CURDIR)/$(VENV)/bin/python SHANYRAK_REQUIRE_TOOLS=1 $(SWIFT) test --skip-build
	@scripts/test-cli.sh

# Fails on any finding of swift-format (part of the toolchain) against the repository's rules.
lint:
	$(SWIFT) format lint --strict --recursive $(FORMAT_PATHS)

# Rewrites the Swift files in place to the repository's format.
format:
	$(SWIFT) format format --in-place --recursive $(FORMAT_PATHS)

demo: deps
	$(SWIFT) build -c release --product shanyrak
	.build/release/shanyrak demo --data $(DEMO_DATA) --keys keys-example --households $(HOUSEHOLDS) --port $(PORT)

bench: deps venv
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

bench-server: deps
	scripts/bench-server.sh

clean:
	rm -rf .build $(DEMO_DATA)
