"""Run every benchmark in this folder, one after another, and collect their RESULT lines.

    make bench            # or: python benchmarks/run_all.py [name ...]

Benchmarks measure; they never pass or fail a build. Numbers vary with the machine and its load:
read them as ratios from one run.
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["step_accuracy", "reverse_cost", "hvp_cost", "forward_vs_reverse", "mlp_training"]


def main(names):
    scripts = [HERE / f"{name}.py" for name in (names or ORDER)]
    summary = []
    for script in scripts:
        if not script.exists():
            print(f"-- {script.name}: not found, skipped")
            continue
        print(f"\n==== {script.name} ====", flush=True)
        start = time.perf_counter()
        run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
        print(run.stdout, end="")
        if run.returncode:
            print(run.stderr[-2000:])
        results = [line for line in run.stdout.splitlines() if line.startswith("RESULT")]
        summary.append(f"{script.stem:>20}: {' '.join(results) or 'exit ' + str(run.returncode)}"
                       f"  ({time.perf_counter() - start:.0f} s)")
    print("\n==== summary ====")
    print("\n".join(summary))


if __name__ == "__main__":
    main(sys.argv[1:])
