# The two quick-start commands of the README live here, so the README and .ci/run never drift.
#   make run    install everything into .venv, then run the MNIST suite on embedded data
#   make test   install everything into .venv, then run the linter and the tests
# Neither changes anything outside the repository: no system packages (the browser for the page test is
# installed by scripts/install-browser, which .ci/run calls first), and the caches tools keep under $HOME
# (pip, matplotlib, torch hub, ultralytics) go to .venv/cache.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
# One pip command: compressai needs numpy<2 and opencv (via ultralytics) must be resolved together with it.
INSTALL := $(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1 -e '.[test]'

export XDG_CACHE_HOME := $(CURDIR)/$(VENV)/cache
export MPLCONFIGDIR := $(XDG_CACHE_HOME)/matplotlib
export YOLO_CONFIG_DIR := $(XDG_CACHE_HOME)/ultralytics

.PHONY: install run test lint bench baselines leaderboard

$(BIN)/vcmbench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(INSTALL)
	touch $@

install: $(BIN)/vcmbench

run: install
	$(BIN)/vcmbench run mnist

# tox.ini's environments run these same commands (tests/test_tox_ini.py keeps them in step).
test: lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests benchmarks

bench: install
	$(BIN)/python -m pytest benchmarks --benchmark-only -p no:randomly

# Reference records of the deterministic baseline codecs (baselines/README.md); the test suite checks
# that a fresh run reproduces them exactly. Regenerate when a baseline codec changes on purpose.
baselines: install
	$(BIN)/python scripts/baselines.py regenerate

# Regenerate the repository's leaderboard/ from fresh runs of the suites that run here.
# mnist-cnn's split-feature points train their small checkpoints (--train: a run never trains unasked).
LEADERBOARD_SUITES := mnist mnist-cnn modelnet40 coco mnist-hm
leaderboard: install
	$(BIN)/vcmbench run mnist --out results --quiet
	$(BIN)/vcmbench run mnist-cnn --train --out results --quiet
	$(BIN)/vcmbench run modelnet40 --out results --quiet
	$(BIN)/vcmbench run coco --out results --quiet
	$(BIN)/vcmbench run mnist-hm --out results --quiet
	$(BIN)/vcmbench publish $(addprefix results/,$(LEADERBOARD_SUITES)) --out leaderboard
