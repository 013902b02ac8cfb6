"""The ``ruche`` command line: see :mod:`ruche.cli`."""
