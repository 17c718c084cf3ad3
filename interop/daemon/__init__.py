"""A warm process for ``interop run``: Airflow imported once, a forked worker per run.

* :mod:`interop.daemon.protocol`: where a daemon listens (one per environment) and the messages;
* :mod:`interop.daemon.client`: ``interop run``'s side (standard library only);
* :mod:`interop.daemon.server`: preload, fork per request, exit statuses back to clients.
"""
