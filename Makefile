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

.PHONY: install run test bench leaderboard

$(BIN)/vcmbench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(INSTALL)
	touch $@

install: $(BIN)/vcmbench

run: install
	$(BIN)/vcmbench run mnist

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m pytest benchmarks --benchmark-only -p no:randomly

# Regenerate the repository's leaderboard/ from fresh runs of the suites that run here.
leaderboard: install
	$(BIN)/vcmbench run mnist --out results --quiet
	$(BIN)/vcmbench run mnist-cnn --out results --quiet
	$(BIN)/vcmbench publish results/mnist results/mnist-cnn --out leaderboard
