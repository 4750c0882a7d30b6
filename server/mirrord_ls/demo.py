"""`mirrord-ls demo`: every verdict in one command, against clusters on 127.0.0.1.

Starts the loopback API servers (healthy operator, RBAC forbids, not
installed, operator down, unreachable), writes a kubeconfig with one context
per scenario, and runs `check` on the example configs shipped in
`examples/`. `--serve` keeps the clusters running and prints the KUBECONFIG
to use from an editor.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_demo(args: argparse.Namespace) -> int:
    from mirrord_ls.checker import check_files
    from mirrord_ls.cli import _expand
    from mirrord_ls.loopback.scenarios import start_demo_clusters

    if not EXAMPLES.is_dir():
        print(
            "mirrord-ls demo: the examples folder is not next to this installation"
            f" ({EXAMPLES}); run it from a checkout of the repository.",
            file=sys.stderr,
        )
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="mirrord-ls-demo-"))
    kubeconfig = workdir / "kubeconfig"
    with start_demo_clusters(kubeconfig) as demo:
        print("mirrord-ls demo: loopback clusters on 127.0.0.1, one kube context per scenario:\n")
        for scenario in demo.scenarios:
            print(f"  {scenario.context:<15} {scenario.description}")
        print()
        os.environ["KUBECONFIG"] = str(kubeconfig)
        os.environ.pop("MIRRORD_KUBECONFIG", None)
        os.environ.pop("MIRRORD_KUBE_CONTEXT", None)
        os.environ.pop("MIRRORD_OPERATOR_ENABLE", None)
        files, _ = _expand([str(EXAMPLES)])
        previous = Path.cwd()
        os.chdir(EXAMPLES)
        try:
            results, schema_label, notes = check_files(files, timeout=5.0)
        finally:
            os.chdir(previous)
        for note in notes:
            print(f"note: {note}\n")
        for result in results:
            rel = result.path.relative_to(EXAMPLES.resolve())
            print(f"examples/{rel}")
            if not result.json:
                print("    no findings: mirrord will start with this config")
            for d in result.json:
                start = d["range"]["start"]
                print(
                    f"    {start['line'] + 1}:{start['character'] + 1}"
                    f" {d['severity']} {d['code']}: {d['message']}"
                )
            print()
        print(f"Checked {len(results)} configs ({schema_label}).")
        if args.serve:
            print(
                "\nThe clusters keep running. Point your editor at them with:\n\n"
                f"  export KUBECONFIG={kubeconfig}\n\n"
                "and open any config under examples/cluster. Ctrl-C stops the demo."
            )
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                print()
    return 0
