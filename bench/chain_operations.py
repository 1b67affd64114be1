"""Benchmark: registering 5 nodes and funding 3 payers, our web3 client vs upstream's xmtpd-cli.

On a fresh anvil holding the XMTP contracts per round: register nodes (owner, signing key, HTTP
address) and fund payers (mint, wrap, approve, deposit) with the library, then the same with the
real ``xmtpd-cli`` binary, one process per command as upstream's e2e runs it (in a container
there).  Both results are checked on chain before a round counts.  The CLI cannot fund a payer
from nothing (it mints the underlying token but deposits only wrapped tokens), so funding is
timed for the library alone.

    .venv/bin/python bench/chain_operations.py --repeat 5
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from environments import bare_chain
from recording import save, summarize

from xmtpd_e2e.chain.client import Chain
from xmtpd_e2e.chain.keys import KeyManager
from xmtpd_e2e.chain.units import xusd
from xmtpd_e2e.config import XMTPD_VERSION
from xmtpd_e2e.infra.binaries import resolve_binary


def cli(binary: Path, url: str, key: str, *args: str) -> None:
    done = subprocess.run(
        [
            str(binary),
            "--environment=anvil",
            f"--private-key={key}",
            f"--settlement-rpc-url={url}",
            f"--app-rpc-url={url}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise SystemExit(f"xmtpd-cli {' '.join(args)} failed:\n{done.stderr[-2000:]}{done.stdout[-1000:]}")


def _fund(chain: Chain, address: str) -> None:
    chain.fund_gas(address, 10**21)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--payers", type=int, default=3)
    args = parser.parse_args()
    deposit = xusd(100)
    samples: dict[str, list[float]] = {"register_ours": [], "register_cli": [], "fund_ours": []}
    for _ in range(args.repeat):  # a fresh chain each round, so every round starts alike
        with bare_chain() as url:
            chain = Chain(url, KeyManager.admin_key())
            keys = KeyManager(partial(_fund, chain))
            binary: Path = resolve_binary("xmtpd-cli", version=XMTPD_VERSION)
            admin = KeyManager.admin_key().private_key
            node_keys = [keys.next_node_key() for _ in range(2 * args.nodes)]
            payer_keys = [keys.next_client_key() for _ in range(args.payers)]

            began = time.monotonic()
            for key in node_keys[: args.nodes]:
                chain.register_node(key.address, key, "http://node:5050")
            samples["register_ours"].append(time.monotonic() - began)

            began = time.monotonic()
            for key in node_keys[args.nodes :]:
                cli(
                    binary,
                    url,
                    admin,
                    "nodes",
                    "register",
                    f"--owner-address={key.address}",
                    f"--signing-key-pub={key.public_key_compressed}",
                    "--http-address=http://node:5050",
                )
            samples["register_cli"].append(time.monotonic() - began)

            began = time.monotonic()
            for key in payer_keys[: args.payers]:
                chain.fund_payer(key.address, deposit)
            samples["fund_ours"].append(time.monotonic() - began)

            assert len(chain.all_nodes()) == 2 * args.nodes, "every registration landed"
            balances = {chain.payer_balance(key.address) for key in payer_keys}
            assert balances == {deposit}, f"every payer holds exactly the deposit: {balances}"
    results = {
        "nodes": args.nodes,
        "payers": args.payers,
        "register_nodes_seconds": {
            "xmtpd_e2e": summarize(samples["register_ours"]),
            "xmtpd_cli": summarize(samples["register_cli"]),
        },
        "fund_payers_seconds": {
            "xmtpd_e2e": summarize(samples["fund_ours"]),
            "xmtpd_cli": "not possible: `funds mint` mints the underlying mUSD, "
            "`funds deposit` needs wrapped xUSD, and the CLI has no wrap step",
        },
    }
    register = results["register_nodes_seconds"]
    print(
        f"register {args.nodes} nodes: ours {register['xmtpd_e2e']['median']:.2f}s, "
        f"xmtpd-cli {register['xmtpd_cli']['median']:.2f}s; fund {args.payers} payers: ours "
        f"{results['fund_payers_seconds']['xmtpd_e2e']['median']:.2f}s (medians of {args.repeat})"
    )
    path = save("chain-operations", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
