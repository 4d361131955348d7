"""Speed of this tree against an earlier commit, alternating in one run (issue 26's gate).

Usage::

    git worktree add /work/wt_base 16dbc5e      # the commit to compare with
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/bench_redesign.py --base /work/wt_base [--repeats 5] [--threads 1]

Each repeat runs, in a fresh subprocess per tree and alternating base/new, the same
timed work on MNIST (float32, ``--n-samples`` rows):

* ``cd1 b100`` / ``cd1 b10``: one epoch of ``BernoulliRBM(n_components=500)``
  (PCD-1, sampled visible units, learning rate 0.01, as ``benchmarks/bench_rbm.py``);
* ``finetune sgd`` / ``finetune adam``: one back-propagation epoch of
  ``DBNClassifier((500, 500, 2000), n_iter_pretrain=0, max_iter=1)``, batch 100 (as
  ``benchmarks/bench_mlp.py``);

after an untimed warm-up fit in the same process (Numba's compilation and cache load
are not timed). It prints the median time of each tree, the ratio new / base, and the
BLAS kernels that ran (threadpoolctl). The two trees' code is imported by putting the
tree first on ``sys.path``; the child prints the ``rbmlib.__file__`` it used.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])
import numpy as np
import rbmlib  # first: it sets OMP_WAIT_POLICY before Numba's OpenMP layer starts
import numba
numba.set_num_threads(int(sys.argv[3]))
from threadpoolctl import threadpool_info, threadpool_limits
from rbmlib import BernoulliRBM, DBNClassifier
from rbmlib.datasets import load_mnist
from sklearn.exceptions import ConvergenceWarning
warnings.simplefilter("ignore", ConvergenceWarning)
n = int(sys.argv[2])
X, y = load_mnist(sys.argv[4], subset="train")
X = (X[:n].astype(np.float32) / np.float32(255.0)); y = np.asarray(y[:n])

def cd(batch):
    return BernoulliRBM(500, learning_rate=0.01, batch_size=batch, n_iter=1, momentum=0.0,
                        sample_visible=True, random_state=0)

def ft(solver):
    kw = (dict(solver="sgd", learning_rate_init=0.01, momentum=0.9) if solver == "sgd"
          else dict(solver="adam", learning_rate_init=0.001))
    return DBNClassifier((500, 500, 2000), n_iter_pretrain=0, max_iter=1, batch_size=100,
                         alpha=1e-4, early_stopping=False, random_state=0, **kw)

cases = {"cd1 b100": (lambda: cd(100), False), "cd1 b10": (lambda: cd(10), False),
         "finetune sgd": (lambda: ft("sgd"), True), "finetune adam": (lambda: ft("adam"), True)}
out = {"file": rbmlib.__file__}
with threadpool_limits(limits=int(sys.argv[3]), user_api="blas"):
    for name, (make, sup) in cases.items():
        warm, full = ((X[:500], y[:500]), (X, y)) if sup else ((X[:500],), (X,))
        make().fit(*warm)  # compilation and cache loading, untimed
        t0 = time.perf_counter()
        make().fit(*full)
        out[name] = time.perf_counter() - t0
    out["blas"] = [(i.get("internal_api"), i.get("architecture"), i.get("version"))
                   for i in threadpool_info() if i.get("user_api") == "blas"]
print(json.dumps(out))
"""


def run(tree, args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
               NUMBA_NUM_THREADS=str(args.threads))
    res = subprocess.run([sys.executable, "-c", CHILD, tree, str(args.n_samples),
                          str(args.threads), args.data],
                         capture_output=True, text=True, env=env, cwd="/")
    if res.returncode:
        raise RuntimeError(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="the earlier tree (a git worktree)")
    ap.add_argument("--new", default=os.path.dirname(HERE), help="this tree (default: ..)")
    ap.add_argument("--n-samples", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=None, help="MNIST folder (default ../shared/data/mnist)")
    args = ap.parse_args(argv)
    args.data = os.path.abspath(args.data or os.environ.get(
        "RBMLIB_MNIST", os.path.join(HERE, "..", "..", "shared", "data", "mnist")))
    print("command:", " ".join(sys.argv), flush=True)
    print("OPENBLAS_CORETYPE:", os.environ.get("OPENBLAS_CORETYPE", "(unset)"))
    times = {"base": [], "new": []}
    for r in range(args.repeats):
        for which in (("base", "new") if r % 2 == 0 else ("new", "base")):
            out = run(args.base if which == "base" else args.new, args)
            times[which].append(out)
            print(f"repeat {r + 1} {which}: " + ", ".join(
                f"{k} {v:.3f}s" for k, v in out.items() if isinstance(v, float)), flush=True)
    print("rbmlib used:", times["base"][0]["file"], "|", times["new"][0]["file"])
    print("BLAS:", times["new"][0]["blas"])
    print(f"\n{'case':<16}{'base (s)':>10}{'new (s)':>10}{'new/base':>10}")
    for k in [k for k, v in times["new"][0].items() if isinstance(v, float)]:
        b = float(np.median([t[k] for t in times["base"]]))
        n = float(np.median([t[k] for t in times["new"]]))
        print(f"{k:<16}{b:>10.3f}{n:>10.3f}{n / b:>10.3f}")


if __name__ == "__main__":
    main()
