"""Hessian-vector products by nested AD, measured: time(H v) / time(f), side by side.

The two functions of ``reverse_cost.py`` (the 784-256-10 tanh MLP loss on 256 samples with
all 203,530 parameters in one flat vector, and Rosenbrock in 10^5 dimensions), differentiated

- by mlpkit: the gradient (``reverse.gradient``) and the Hessian-vector product
  (``second_order.hvp``) in its three nestings that cost a few f (forward-over-reverse, the
  default; reverse-over-reverse; reverse-over-forward);
- by HIPS autograd (``hessian_vector_product``), PyTorch on the CPU (double backward:
  ``torch.autograd.grad`` of ``grad . v`` with ``create_graph=True``) and JAX on the CPU
  (``jax.jvp`` of ``jax.grad``: forward-over-reverse, eager, and jit-compiled as an extra column).

Every time is the minimum over interleaved repeats of the per-call CPU time of the process (the
machine may be shared; see ``reverse_cost.CLOCK``); every ratio divides by the time of the plain
NumPy f in the same run; the page faults per call and the load average are printed with them.
All the libraries agree on H v to 1e-9 relative (checked before timing). Targets (issue 16):
mlpkit's H v <= 10 f and no slower than autograd's, with glibc's default allocator
(``--keep-freed-memory``: the same with the tuning of reverse_cost.py, reported separately). A library
that is not installed is skipped (the "bench" extra installs them).
Run:  .venv/bin/python benchmarks/hvp_cost.py
Before and after a change of the engine, gradient and H v in one run, alternating fresh
processes of the two revisions:  .venv/bin/python benchmarks/hvp_cost.py --against HEAD
"""

from __future__ import annotations

import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy starts its BLAS

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reverse_cost  # noqa: E402
from reverse_cost import (FAULTS, against, keep_freed_memory, load_average,  # noqa: E402
                          make_mlp_loss, make_rosenbrock)

from mlpkit import reverse, second_order  # noqa: E402
from peers import jax, jnp, jax_hvp, torch, torch_hvp, torch_mlp, torch_rosenbrock  # noqa: E402

try:
    import autograd
    import autograd.numpy as anp
except ImportError:
    autograd = anp = None
reverse_cost.REPEATS = 9
NESTINGS = ("forward-over-reverse", "reverse-over-reverse", "reverse-over-forward")


def candidates_for(f, f_autograd, f_torch, f_jax, v):
    cands = {"f": f, "gradient": lambda x: reverse.gradient(f, x)}
    for mode in NESTINGS:
        cands[mode] = lambda x, mode=mode: second_order.hvp(f, x, v, mode)
    if autograd is not None:
        autograd_hvp = autograd.hessian_vector_product(f_autograd)
        cands["autograd"] = lambda x: autograd_hvp(x, v)
    if torch is not None:
        cands["torch"] = torch_hvp(f_torch, v)
    if jax is not None:
        make_f, data = f_jax
        cands["jax eager"] = jax_hvp(make_f, data, v, jit=False)
        cands["jax jit"] = jax_hvp(make_f, data, v, jit=True)
    return cands


def main():
    tuned = "--keep-freed-memory" in sys.argv[1:] and keep_freed_memory()
    print(f"allocator: glibc {'keeping freed memory' if tuned else 'default'}; {load_average()}")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 784))
    y = rng.integers(0, 10, size=256)
    mlp_np, n_params = make_mlp_loss(np, X, y)
    theta = 0.05 * rng.standard_normal(n_params)
    x_rosen = rng.uniform(-1.0, 1.0, size=100_000)
    problems = {
        "MLP 784-256-10": (mlp_np, theta, make_mlp_loss(anp, X, y)[0] if anp else None,
                           torch_mlp(X, y) if torch else None,
                           (lambda X_: make_mlp_loss(jnp, X_, y)[0], (X,))),
        "Rosenbrock 1e5": (make_rosenbrock(np), x_rosen, make_rosenbrock(anp) if anp else None,
                           torch_rosenbrock, (lambda: make_rosenbrock(jnp), ())),
    }
    results = {}
    for name, (f, x, f_ag, f_torch, f_jax) in problems.items():
        v = rng.standard_normal(x.shape)
        cands = candidates_for(f, f_ag, f_torch, f_jax, v)
        reference = second_order.hvp(f, x, v)
        for label, fn in cands.items():
            if label not in ("f", "gradient"):
                got = fn(x)
                error = np.linalg.norm(got - reference) / np.linalg.norm(reference)
                assert error < 1e-9, (name, label, error)
        t = reverse_cost.measure(cands, x)
        results[name] = {label: t[label] / t["f"] for label in t}
        print(f"\n{name}: f = {1e3 * t['f']:.3f} ms ({FAULTS['f']:.0f} page faults per call); "
              "time / time(f), page faults per call:")
        for label in t:
            if label != "f":
                print(f"  {label:22} {1e3 * t[label]:9.3f} ms {t[label] / t['f']:7.2f} "
                      f"{FAULTS[label]:9.0f}")
    summary = []
    for name, key in (("MLP 784-256-10", "mlp"), ("Rosenbrock 1e5", "rosenbrock")):
        r = results[name]
        summary += [f"{key}_grad={r['gradient']:.2f}", f"{key}_hvp={r[NESTINGS[0]]:.2f}"]
        summary += [f"{key}_{label.replace(' ', '_')}={r[label]:.2f}"
                    for label in ("autograd", "torch", "jax eager", "jax jit") if label in r]
    print("targets: mlpkit hvp (forward-over-reverse) <= 10 f and <= autograd's")
    print(f"after the measurements: {load_average()}")
    print("RESULT " + " ".join(summary))


if __name__ == "__main__":
    if "--against" in sys.argv:
        against(sys.argv[sys.argv.index("--against") + 1], script=__file__, runs=2)
    else:
        main()
