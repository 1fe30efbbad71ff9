# Two commands do everything on a fresh Debian 12 machine, as root:
#   make demo   install what is missing, then run the load balancer demo on the embedded target
#   make test   install what is missing, then run all tests
PY := .venv/bin/python

.PHONY: setup demo test lint bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m topologies.demo

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy p4sim controller topologies

test: setup lint
	$(PY) -m pytest -q

# Each benchmark is bounded in time and prints its own table (root: namespaces, veths).
bench: setup
	$(PY) -m bench.compile_time
	$(PY) -m bench.engine_pps
	$(PY) -m bench.switch_pps
	$(PY) -m bench.switch_fastpath
	$(PY) -m bench.lb_modes
	$(PY) -m bench.l7_splice
	$(PY) -m bench.l7_profiles
	$(PY) -m bench.health_detection
	$(PY) -m bench.ha_failover
	$(PY) -m bench.tls_resumption

clean:
	rm -rf .venv .venv-shell .mypy_cache .ruff_cache .pytest_cache build *.egg-info
