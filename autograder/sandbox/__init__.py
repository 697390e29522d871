"""The trust boundary. The modules here run in the grader; ``inside/`` runs in the sandbox.

Grader side: ``launch`` (bubblewrap or degraded, the limits), ``zygote_client`` (one warm zygote),
``connection`` (the socket to one child), ``student`` (the suites' handle on a submission).
Both sides: ``wire`` (the plain-data codec) and ``protocol`` (every message, by name). This file
and those two are copied into the sandbox beside ``inside/``: keep it free of imports.
"""
