"""`python -m mirrord_ls.loopback --kubeconfig PATH`: a loopback cluster to try things by hand.

Starts the sample cluster (or, with `--scenarios`, the demo's clusters; with
`--operator-scenarios`, the operator-path clusters of `operator_scenarios.py`),
writes a kubeconfig to PATH, prints it with every secret redacted, and serves
until Ctrl-C. The tokens and keys are only in the file (mode 0600).
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import yaml

from mirrord_ls.loopback.apiserver import OperatorState
from mirrord_ls.loopback.kubeconfig import redacted
from mirrord_ls.loopback.operator_scenarios import start_operator_clusters
from mirrord_ls.loopback.scenarios import start_demo_clusters, start_sample_cluster
from mirrord_ls.signals import wait_for_a_signal


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mirrord_ls.loopback", description=__doc__)
    parser.add_argument("--kubeconfig", required=True, type=Path, help="where to write it")
    parser.add_argument(
        "--scenarios", action="store_true", help="the demo's clusters, one context per scenario"
    )
    parser.add_argument(
        "--operator-scenarios",
        action="store_true",
        help="the operator-path clusters (licence, RBAC, features...), one context per case",
    )
    parser.add_argument(
        "--operator",
        choices=[s.value for s in OperatorState],
        default=OperatorState.INSTALLED.value,
        help="operator state of the sample cluster (not with --scenarios)",
    )
    parser.add_argument(
        "--round-trip", type=float, default=0.0, help="seconds added to every request"
    )
    args = parser.parse_args(argv)

    stop = threading.Event()
    if args.operator_scenarios:
        demo = start_operator_clusters(args.kubeconfig, round_trip=args.round_trip)
        stop_all = demo.stop
        summary = [f"  {s.context:26} {s.description}" for s in demo.scenarios]
    elif args.scenarios:
        demo = start_demo_clusters(args.kubeconfig, tls_failures=True, round_trip=args.round_trip)
        stop_all = demo.stop
        summary = [f"  {s.context:22} {s.description}" for s in demo.scenarios]
    else:
        server = start_sample_cluster(round_trip=args.round_trip)
        server.operator_state = OperatorState(args.operator)
        server.write_kubeconfig(args.kubeconfig, namespace="default", current="loopback-alice")
        stop_all = server.stop
        summary = [
            f"  {server.url}  operator: {args.operator}",
            "  loopback-alice  may use the operator (token)",
            "  loopback-bob    RBAC forbids the operator (token)",
            "  loopback-carol  may use the operator (client certificate, group mirrord-users)",
        ]
    try:
        doc = yaml.safe_load(args.kubeconfig.read_text())
        print(f"# kubeconfig written to {args.kubeconfig} (secrets redacted below)")
        print(yaml.safe_dump(redacted(doc), sort_keys=False))
        print("Contexts:", *summary, sep="\n")
        print(f"\nTry: KUBECONFIG={args.kubeconfig} kubectl get mirrordoperators operator -o yaml")
        print("Serving until Ctrl-C.", flush=True)
        wait_for_a_signal(stop)
    except KeyboardInterrupt:
        pass
    finally:
        stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
