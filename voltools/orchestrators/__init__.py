"""Orchestrator backends: where a sweep's reads run.

registry (the Orchestrator interface, `register`, `backend`, the built-in names), docker (this
Docker Engine, today's default), swarm (one Swarm job service per target), k8s (a Kubernetes Job
on a PersistentVolumeClaim). `voltools.run.Run` owns the run and drives a backend; a new backend
is one module here plus its line in registry.BUILTIN (or a `register` call).
"""
