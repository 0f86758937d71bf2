# Quick start:  make demo   (install and run the main job)
#               make test   (install with the test extra and run the whole suite, then the
#                            conventions against TensorFlow, Keras and JAX in their own venv)
#               make weights (train the shipped models again: about 25 min each on one core)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FW_VENV ?= .venv-frameworks

.PHONY: demo test test-frameworks bench clean fuzz weights

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[viz,restore,dask,onnx]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/deconvkit explain
	mkdir -p demo-results
	$(BIN)/deconvkit explain --html demo-results/explain.html --gif demo-results/explain.gif --overwrite
	$(BIN)/deconvkit restore --demo --out demo-results --overwrite
	$(BIN)/deconvkit train --quick --out demo-results --overwrite
	$(BIN)/deconvkit predict --shapes 6 --out demo-results --overwrite
	$(BIN)/deconvkit sparse learn --demo --n-images 2 --size 96 --filters 12 --kernel 8 \
		--iterations 10 --out demo-results --overwrite
	$(BIN)/deconvkit sparse visualize --pretrained fcn8s --mode guided \
		--out demo-results/deconvnet.png --overwrite

# the weights of deconvkit.nn.pretrained, in src/deconvkit/models: the converge recipe
# (deconvkit train --recipe converge), seed 1, about 25 minutes per model on one core;
# the training reports go to build/weights/
MODELS := src/deconvkit/models

weights: $(VENV)/.installed
	$(BIN)/deconvkit train --recipe converge --seed 1 --save-model $(MODELS)/fcn8s.npz \
		--out build/weights/fcn8s --overwrite
	$(BIN)/deconvkit train --recipe converge --seed 1 --head fcn32s --upsampling bilinear \
		--save-model $(MODELS)/fcn32s-bilinear.npz --out build/weights/fcn32s-bilinear --overwrite

test: $(VENV)/.installed-test $(FW_VENV)/.installed
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory test-frameworks

# TensorFlow, Keras and JAX get a venv of their own: their pins do not mix with PyTorch's
# and ONNX's in one environment. Keras on its JAX backend needs a process of its own.
$(FW_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(FW_VENV)
	$(FW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FW_VENV)/bin/python -m pip install --quiet -e ".[frameworks]"
	touch $@

test-frameworks: $(FW_VENV)/.installed
	DECONVKIT_NO_SKIPS=1 $(FW_VENV)/bin/python -m pytest -q -p no:cacheprovider \
		tests/test_conventions_tensorflow.py tests/test_conventions_jax.py
	DECONVKIT_NO_SKIPS=1 KERAS_BACKEND=jax $(FW_VENV)/bin/python -m pytest -q -p no:cacheprovider \
		tests/test_conventions_keras_jax.py

# the property-based fuzz of the API and the CLI as a soak: 10**4 examples per target
fuzz: $(VENV)/.installed-test
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q tests/test_fuzz_*.py

clean:
	rm -rf $(VENV) $(FW_VENV) demo-results build src/*.egg-info .pytest_cache .hypothesis

bench: $(VENV)/.installed-test
	$(BIN)/deconvkit bench --markdown benchmarks/results.md --overwrite
