"""mlpkit: the helper library of the course *How computers differentiate programs*.

One plain NumPy function, three ways to differentiate it:

- :mod:`mlpkit.numdiff`  perturbation: forward and central differences, the complex step;
- :mod:`mlpkit.forward`  forward-mode AD with dual numbers (tangents);
- :mod:`mlpkit.reverse`  reverse-mode AD (adjoints), a scalar engine and an array engine.

Every module is meant to be read in one sitting.
"""

__version__ = "0.1.0"
