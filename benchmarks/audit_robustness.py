"""Count the outcomes of many random robustness draws per paired estimator.

Runs ``run_draw`` of ``tests/test_robustness.py`` (the same draws the test suite
makes, many more of them) and prints, per estimator, how many draws returned a
correct score, how many were refused with a clear error, and how many were bad
(a silent wrong number or an unclear error), with the first bad cases.

    python benchmarks/audit_robustness.py --draws 200
"""

import argparse
import os
import sys
import time
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from test_robustness import PAIRED, run_draw  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100, help="draws per estimator")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=3, help="bad cases shown per estimator")
    parser.add_argument("--only", nargs="*", help="estimator names")
    args = parser.parse_args(argv)
    total = Counter()
    start = time.perf_counter()
    for name in sorted(args.only or PAIRED):
        rng = np.random.default_rng([args.seed, sum(map(ord, name))])
        counts, bad, refused = Counter(), [], Counter()
        for _ in range(args.draws):
            verdict, detail = run_draw(name, rng)
            counts[verdict] += 1
            if verdict == "bad":
                bad.append(detail)
            elif verdict == "refused":
                refused[detail.split(": ", 1)[1][:90]] += 1
        total.update(counts)
        print(f"{name:32s} ok {counts['ok']:5d}  refused {counts['refused']:5d}  bad {counts['bad']:5d}")
        for line in bad[: args.show]:
            print("    bad:", line[:300])
        for reason, count in refused.most_common(args.show):
            print(f"    refused x{count}: {reason}")
    print(f"total: {sum(total.values())} draws, ok {total['ok']}, refused {total['refused']}, "
          f"bad {total['bad']} in {time.perf_counter() - start:.0f} s; load {os.getloadavg()[0]:.1f}")
    return 1 if total["bad"] else 0


if __name__ == "__main__":
    sys.exit(main())
