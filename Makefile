# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Both bootstrap .venv (Python >= 3.11) from nothing; later runs reuse it while pyproject/constraints are unchanged.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -c1-12)
OUT    ?= demo-out

.PHONY: venv demo test test-fast bench train browser-deps clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	# constraints.txt pins every package to the set tested here (torch==2.13.0 CPU, numpy<2 for mediapipe).
	$(PY) -m pip install -q -c constraints.txt -e ".[all,test,test-extra]"
	@rm -f $(VENV)/.installed-*
	@touch $@

# Debian's Chromium for the browser test (Playwright's own browser download does not work offline).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; fi; \
	fi

demo: venv
	$(PY) examples/demo.py --out $(OUT)

test: venv browser-deps
	$(PY) -m pytest -q

# Without the browser set-up (for machines without root).
test-fast: venv
	$(PY) -m pytest -q -m "not browser"

bench: venv
	$(PY) bench/run_all.py

# Trains the offline default's part network from ../shared/data/ccp (about an hour on 2 cores; resumes when
# interrupted), exports train-out/lite0-cihp-bag.onnx and compares its validation figure with the shipped weights'.
train: venv
	$(VENV)/bin/humanparse train --out train-out --export train-out/lite0-cihp-bag.onnx

clean:
	rm -rf $(VENV) $(OUT) bench-out .pytest_cache
