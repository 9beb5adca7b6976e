# Two commands on a fresh machine:
#   make demo   - set up .venv and run the whole flow on a generated sample title
#   make test   - set up .venv and run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# CPU build by default; on a CUDA machine: make setup TORCH="torch==2.13.0 --index-url <your CUDA wheel index>"
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: setup demo test bench clean fonts

setup: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, so nothing below can pull a multi-GB CUDA build on a CPU machine
	$(PY) -m pip install -q $(TORCH)
	# facenet-pytorch ships trained MTCNN face weights; --no-deps keeps its old torch pin away
	$(PY) -m pip install -q --no-deps facenet-pytorch==2.6.0
	# silero-vad ships its trained speech detector as a TorchScript file; only that file is used
	$(PY) -m pip install -q --no-deps silero-vad==6.2.3
	$(PY) -m pip install -q -r requirements.txt -r requirements-test.txt
	$(PY) -m pip install -q --no-deps -e .
	@$(MAKE) --no-print-directory fonts
	touch $(STAMP)

# Localized artwork draws every script with the Noto fonts (Debian packages): installed here when
# root and apt-get are available; otherwise a message, and the localized kind names the package.
fonts:
	@if [ -d /usr/share/fonts/truetype/noto ] && [ -d /usr/share/fonts/opentype/noto ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends fonts-noto-core fonts-noto-cjk >/dev/null \
			|| echo "note: apt-get could not install fonts-noto-core fonts-noto-cjk" >&2; \
	else echo "note: install fonts-noto-core and fonts-noto-cjk (apt) for localized artwork in every script" >&2; fi

demo: setup
	$(VENV)/bin/workbench demo

# pytest exits 5 when it collected nothing: that is a failure here, not a pass.
test: setup
	@$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: setup
	$(PY) benchmarks/bench_analysis.py
	$(PY) benchmarks/bench_thumbnails.py
	$(PY) benchmarks/bench_diffusion.py
	$(PY) benchmarks/bench_trailers.py
	$(PY) benchmarks/bench_localization.py
	$(PY) benchmarks/bench_ads.py
	$(PY) benchmarks/bench_export.py
	$(PY) benchmarks/bench_ui.py

clean:
	rm -rf $(VENV) .workbench
