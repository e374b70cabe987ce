"""mlpkit: the helper library of the course *How computers differentiate programs*.

One plain NumPy function, three ways to differentiate it:

- :mod:`mlpkit.numdiff`  perturbation: forward and central differences, the complex step;
- :mod:`mlpkit.forward`  forward-mode AD with dual numbers (tangents);
- :mod:`mlpkit.reverse`  reverse-mode AD (adjoints), a scalar engine and an array engine.

The derivative rules of every NumPy primitive are written once, in :mod:`mlpkit.rules`, in the
same traceable operations the engines record, so the modes nest (:mod:`mlpkit.nesting` tags each
differentiation call): :mod:`mlpkit.second_order` builds Hessian-vector products and Hessians
from them. :mod:`mlpkit.nn` holds layers, losses and optimisers; :mod:`mlpkit.grading` what the
assignments' test cells call; :mod:`mlpkit.measure` the relative error both of them use.

Every module is meant to be read in one sitting.
"""

__version__ = "0.1.0"
