"""Benchmark: registering a node on chain, our web3 client vs upstream's xmtpd-cli.

Both register a fresh node (owner, signing key, HTTP address) on a bare anvil holding the XMTP
contracts; the CLI is a new process per registration, as upstream's e2e runs it (in a
container there).  Also times funding a payer (mint, wrap, approve, deposit: 5 transactions).

    .venv/bin/python bench/chain_operations.py --repeat 10
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import requests
from recording import save, summarize

from xmtpd_e2e.chain.client import Chain
from xmtpd_e2e.chain.keys import KeyManager
from xmtpd_e2e.chain.units import xusd
from xmtpd_e2e.config import XMTPD_VERSION
from xmtpd_e2e.infra.binaries import resolve_binary
from xmtpd_e2e.runtime.ports import PortAllocator
from xmtpd_e2e.services.chain import anvil_state_path


def start_anvil() -> tuple[subprocess.Popen[bytes], str]:
    port = PortAllocator().allocate()
    process = subprocess.Popen([str(resolve_binary("anvil")), "--host", "127.0.0.1", "--port", str(port),
                                "--load-state", str(anvil_state_path()), "--mixed-mining", "--block-time", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1)
            return process, url
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    process, url = start_anvil()
    try:
        chain = Chain(url, KeyManager.admin_key())
        keys = KeyManager(lambda address: chain.fund_gas(address, 10**21))
        cli: Path = resolve_binary("xmtpd-cli", version=XMTPD_VERSION)
        ours, theirs, funding = [], [], []
        for _ in range(args.repeat):
            key = keys.next_node_key()
            began = time.monotonic()
            chain.register_node(key.address, key, "http://node:5050")
            ours.append(time.monotonic() - began)

            key = keys.next_node_key()
            began = time.monotonic()
            subprocess.run([str(cli), "--environment=anvil", f"--private-key={KeyManager.admin_key().private_key}",
                            f"--settlement-rpc-url={url}", "nodes", "register", f"--owner-address={key.address}",
                            f"--signing-key-pub={key.public_key_compressed}", "--http-address=http://node:5050"],
                           check=True, capture_output=True, timeout=60)
            theirs.append(time.monotonic() - began)

            payer = keys.next_client_key()
            began = time.monotonic()
            chain.fund_payer(payer.address, xusd(100))
            funding.append(time.monotonic() - began)
    finally:
        process.kill()
        process.wait()
    results = {"register_node_seconds": {"xmtpd_e2e": summarize(ours), "xmtpd_cli_process": summarize(theirs)},
               "fund_payer_seconds": summarize(funding)}
    print(f"register node: ours {results['register_node_seconds']['xmtpd_e2e']['median']:.3f}s, "
          f"xmtpd-cli {results['register_node_seconds']['xmtpd_cli_process']['median']:.3f}s; "
          f"fund payer {results['fund_payer_seconds']['median']:.3f}s (medians of {args.repeat})")
    path = save("chain-operations", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
