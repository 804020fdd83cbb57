"""The measuring side: what a sweep reads, where, and how a result becomes a row.

plan (the request, its grid and the question), targets (specs, checks, preparing a volume), kinds
(one module per target kind, registered by name), loop (loop devices), engine (the Docker Engine connection), probe (the probe image), sessions
(containers to exec in), layout (the files a sweep reads), jobs (fio and python-reader argv),
pyreader and pyfio (the python reader), fio (fio's JSON), rows (a result as point rows), taskscript
(the script a Swarm or Kubernetes task runs), cleanup (removal by run id), doctor (what is here).
It imports no matplotlib and nothing of the analysis side (tests/unit/test_boundaries.py).
"""
