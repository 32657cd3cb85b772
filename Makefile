# metafuse: `make analysis` and `make test` do all set-up on a fresh machine.
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Bytecode is written by compileall on every CPU (pip writes it on one; --no-compile skips that),
# for the dependencies and for the package itself: an editable install's modules are otherwise
# compiled afresh in every process where Python may not write __pycache__ itself
# (PYTHONDONTWRITEBYTECODE), about 0.25 s of each command. `analysis` refreshes the package's
# for sources changed since.
PURELIB = $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile \
	  -c constraints.txt -e '.[all,test,docs]'
	$(BIN)/python -m compileall -q -j 0 "$(PURELIB)" metafuse
	touch $@

## install  : create .venv (if missing) and install metafuse with pinned dependencies
install: $(STAMP)

## analysis : rebuild results/: every automatic analysis of studies/, every spec in analyses/
analysis: $(STAMP)
	$(BIN)/python -m compileall -q metafuse
	$(BIN)/metafuse analysis analyses --out results

## examples : build the example reviews on their own: examples/bcg/results (a CSV of study rows)
##            and examples/beta_blockers/results (a second curated review; see examples/README.md)
examples: $(STAMP)
	$(BIN)/metafuse analysis examples/bcg/analyses --out examples/bcg/results
	$(BIN)/metafuse analysis examples/beta_blockers/analyses --out examples/beta_blockers/results

## verify   : recompute every result and compare with results/manifest.json
verify: $(STAMP)
	$(BIN)/metafuse verify

## lint     : ruff (lint and format check) and the type checker on the package
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## system-deps: Chromium, LibreOffice Writer and poppler-utils for the browser and Word tests,
##             installed with apt-get when missing (as root; else those tests say why they skip)
SYSTEM_TOOLS := chromium:chromium soffice:libreoffice-writer pdftotext:poppler-utils
system-deps:
	@missing=""; \
	for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing$$missing"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	else \
	  echo "not installing$$missing (needs root and apt-get): the browser and Word tests will skip"; \
	fi

## docs     : the API reference and the five tutorials (executed), warnings as errors;
##            open docs/_build/html/index.html
docs: $(STAMP)
	$(BIN)/sphinx-build -E -W --keep-going -q -b html docs docs/_build/html

## docs-check: what make test runs of the docs: every page read with warnings as errors (numpydoc
##             validation of the reference included), tutorials not executed, nothing written
docs-check: $(STAMP)
	METAFUSE_DOCS_EXECUTE=0 $(BIN)/sphinx-build -E -W --keep-going -q -b dummy docs docs/_build/dummy

## test     : lint, type-check, the docs check and the test suite (installs the system tools it
##            needs)
test: lint docs-check system-deps
	$(BIN)/python -m pytest -q -n auto

## bench    : the convergence simulation (100,000+ meta-analyses) and the batch engine's speed
bench: $(STAMP)
	$(BIN)/python bench/convergence.py
	$(BIN)/python bench/batch.py

## bench-hostile: issue 24's hostile and careless inputs, each as its own process with a timeout
##             and a memory cap, counted (bench/hostile_report.json; --code DIR for another tree)
bench-hostile: $(STAMP)
	$(BIN)/python bench/hostile.py

## bench-memory: peak memory and time of big inputs against issue 24's goals
##             (bench/memory_report.json)
bench-memory: $(STAMP)
	$(BIN)/python bench/memory.py

## bench-analysis: CPU time of `make analysis` against R metafor doing the same fits and figures
bench-analysis: $(STAMP)
	$(BIN)/python bench/analysis.py

## bench-incremental: CPU of a rebuild (nothing changed; one trial's numbers changed) against a
##            cold build of the same review, outputs compared byte for byte
bench-incremental: $(STAMP)
	$(BIN)/python bench/incremental.py

## reference: regenerate tests/reference/*.json (needs R with metafor; GENQM, GENQ CIs and the
##            extra cases also CompQuadForm; not run in CI)
reference:
	Rscript tests/reference/run_metafor.R
	Rscript tests/reference/run_metafor_toolbox.R
	Rscript tests/reference/run_metafor_extra.R
	Rscript tests/reference/run_metafor_genqm.R
	Rscript tests/reference/run_metafor_yusuf1985.R
	Rscript tests/reference/run_metafor_gaps.R

## help     : show this message
help:
	@grep '^##' Makefile | sed 's/^## //'

.PHONY: install analysis examples verify lint docs docs-check system-deps test bench bench-hostile \
	bench-memory bench-analysis bench-incremental reference help
