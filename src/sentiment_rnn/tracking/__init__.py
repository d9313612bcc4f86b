"""MLflow, and only here: nothing else in the package imports mlflow, and importing this package
does not either (each module imports it when first used).

- `store.py`    connecting to a tracking URI (fast failure, quiet logs)
- `runs.py`     `Tracker`: one MLflow run per training (a training callback)
- `registry.py` registered models: list, alias, and resolving `runs:/` / `models:/` references
- `pyfunc.py`   the pyfunc wrapper logged with each model, as code (no pickle)

The default store is `sqlite:///mlflow.db` in the working directory (no server needed);
`--tracking-uri` or `$MLFLOW_TRACKING_URI` point elsewhere.
"""
