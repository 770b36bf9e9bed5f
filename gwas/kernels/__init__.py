"""Numba kernels of the association tests. Each jitted function is also callable as plain Python
(``kernel.py_func``) and is tested against a NumPy reference of the same math."""
