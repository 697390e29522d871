"""What runs inside the sandbox: the zygote, the child's request server, loading, the torch watch.

Never imported by the grader at run time (only by its tests): the grader copies this package,
``wire`` and ``protocol`` into a directory of the sandbox and runs ``python -m sandbox.inside``.
"""
