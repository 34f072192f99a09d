"""PG connectors: the interface (:mod:`.connector`), the registry and the sandbox PG.

Imports nothing of the package except (in future) ``localportone.kernel``: it knows no tables and no HTTP.
"""
