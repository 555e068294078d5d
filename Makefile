# Parley: one-command demo and test on a fresh Debian 12, run as root.
#
#   make demo   deploy the lab and print its URL
#   make test   lint, unit tests, molecule scenarios, deploy, browser tests
#   make down   remove the lab's containers (image and apt caches stay)
#
# Smaller steps: make venv | lab | lint | unit | molecule | molecule-<name>
# | e2e. Each target installs what it needs first.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# The steps of `make test` run in the order listed, never side by side:
# they share the Docker engine, the two cores and the lab's ports.
.NOTPARALLEL:

VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
# Installed by `make venv`: control-node tools and the app's runtime
# packages (the app tests import them). Re-installed when either changes.
VENV_STAMP := $(VENV)/.installed
VENV_INPUTS := requirements.txt app/requirements.lock

LAB_URL := https://localhost:8443
CA_CERT := $(CURDIR)/.lab/pki/ca.crt

# Test suites, in the order `make test` runs them.
UNIT_TESTS := app/tests tests/roles
MOLECULE_SCENARIOS := pki nginx signaling default
E2E_TESTS := tests/e2e

.PHONY: help host docker image venv lab demo down lint unit molecule e2e test

help:
	@sed -n '2,8s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

# --- the machine ----------------------------------------------------------

host:
	@lab/ensure-host.sh

docker: host
	@lab/ensure-docker.sh

image: docker
	@lab/image/build.sh

venv: $(VENV_STAMP)

$(VENV_STAMP): $(VENV_INPUTS) | host
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check \
	  $(addprefix -r ,$(VENV_INPUTS))
	touch $@

# --- the lab --------------------------------------------------------------

lab: venv image
	lab/ca-passphrase.sh
	ansible-playbook lab/up.yml

demo: lab
	ansible-playbook site.yml
	@echo
	@echo "Parley runs at $(LAB_URL)"
	@echo "Its CA certificate: $(CA_CERT)"
	@echo "(trust it in your browser, see README.md; make down removes the lab)"

down: venv docker
	ansible-playbook lab/down.yml

# --- checks ---------------------------------------------------------------

lint: venv
	ansible-lint --profile production
	ruff check .
	mypy --config-file app/pyproject.toml app/src

unit: venv
	pytest $(UNIT_TESTS)

molecule: $(addprefix molecule-,$(MOLECULE_SCENARIOS))

molecule-%: venv image
	molecule test -s $*

e2e: venv
	pytest $(E2E_TESTS)

# The browser tests run against a lab deployed from scratch: a lab left
# by an earlier run may hold certificates of another CA.
test: lint unit molecule down demo e2e
	@echo "make test: every step passed"
