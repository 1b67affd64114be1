# The two commands of the README:
#   make e2e    the e2e suite (fast scenarios against real xmtpd, local and docker runtimes)
#   make test   the project's own tests (unit + integration against real components), the fast suite,
#               and smoke, a node kill and a partition on the local Kubernetes cluster
# Both run scripts/setup first (idempotent and cached).

VENV := .venv/bin
E2E := $(VENV)/xmtpd-e2e
DOCKER_FLAGS := --runtime docker --image-set local

.PHONY: setup e2e e2e-local e2e-docker e2e-layers e2e-full e2e-kubernetes e2e-kubernetes-trio e2e-kubernetes-users test unit integration lint bench clean-runs

setup:
	scripts/setup

e2e: setup e2e-local e2e-docker

e2e-local:
	$(E2E) run --runtime local --suite fast --parallel 2

e2e-docker:
	$(E2E) run $(DOCKER_FLAGS) --suite fast --parallel 2

# Faults below the network (database, chain, Redis), each scenario under a minute.
e2e-layers: setup
	$(E2E) run --runtime local --suite layers --parallel 2
	$(E2E) run $(DOCKER_FLAGS) --suite layers --parallel 2

# The whole catalogue (payer reports follow xmtpd's hourly schedule: ~14 min per runtime with --parallel 6).
e2e-full: setup
	$(E2E) run --runtime local --suite full --parallel 6
	$(E2E) run $(DOCKER_FLAGS) --suite full --parallel 6

# The local Kubernetes cluster (built once: 9 min on 2 idle cores, cached after) and what runs on it:
# the cluster's own tests (teardown restores the host, pods spread over both nodes), the runtime
# contract on the kubernetes runtime, and the fast suite.
e2e-kubernetes:
	scripts/setup --kubernetes
	$(VENV)/pytest -q -m kubernetes tests/integration/kube_cluster
	$(VENV)/pytest -q -m kubernetes tests/integration/runtime/test_contract.py
	$(E2E) run --runtime kubernetes --image-set local --suite fast --parallel 2

# What of the kubernetes runtime fits a shorter budget: smoke, a node kill and a partition.
KUBE_TRIO := smoke,chaos-node-down,chaos-network-partition

e2e-kubernetes-trio:
	scripts/setup --kubernetes
	$(E2E) run --runtime kubernetes --image-set local --test $(KUBE_TRIO) --parallel 2

# Real XMTP users on kubernetes: libxmtp clients in the runner, every service (the MLS validation service too) a pod.
e2e-kubernetes-users:
	scripts/setup --kubernetes
	$(E2E) run --runtime kubernetes --image-set local --test xmtp-group-chat

# Last, the kubernetes trio and the users' group chat: on a fresh machine its set-up builds the local cluster first
# (8 min 52 s on 2 idle cores, 6.8 GB of Go caches; 12 s once cached).
test: setup lint e2e-local e2e-docker
	$(VENV)/pytest -q tests
	$(MAKE) e2e-kubernetes-trio
	$(MAKE) e2e-kubernetes-users

unit:
	$(VENV)/pytest -q tests/unit

integration:
	$(VENV)/pytest -q tests/integration

lint:
	$(VENV)/ruff check src tests bench
	$(VENV)/ruff format --check src tests bench
	$(VENV)/mypy src/xmtpd_e2e
	MYPYPATH=bench $(VENV)/mypy --strict --ignore-missing-imports bench

bench: setup
	$(VENV)/python bench/run_all.py

clean-runs:
	$(E2E) cleanup --all
