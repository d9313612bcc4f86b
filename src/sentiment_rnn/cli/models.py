"""`sentiment-rnn models`: the MLflow registry: list registered models, point an alias at a version."""

from __future__ import annotations

import json

from .options import add_json, add_tracking_uri

EXAMPLES = """examples:
  sentiment-rnn models list --tracking-uri sqlite:///mlflow.db
  sentiment-rnn models list --tracking-uri http://127.0.0.1:5000 --json
  sentiment-rnn models alias imdb 3 champion --tracking-uri http://127.0.0.1:5000
"""


def add_parser(command) -> None:
    models = command("models", "List registered models, or set an alias on a version.", EXAMPLES, run)
    actions = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="names, versions, aliases and headline metrics")
    add_tracking_uri(listing, "MLflow store or server")
    add_json(listing)
    alias = actions.add_parser("alias", help="point ALIAS (e.g. champion) at VERSION of MODEL_NAME")
    alias.add_argument("name", metavar="MODEL_NAME")
    alias.add_argument("version", metavar="VERSION")
    alias.add_argument("alias", metavar="ALIAS")
    add_tracking_uri(alias, "MLflow store or server")


def run(args) -> int:
    from ..tracking import registry

    if args.models_command == "alias":
        registry.set_alias(args.name, args.version, args.alias, args.tracking_uri)
        print(f"{args.name}@{args.alias} → version {args.version}")
        return 0
    rows = registry.list_models(args.tracking_uri)
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no registered models")
    for r in rows:
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in r["metrics"].items())
        aliases = f" @{',@'.join(r['aliases'])}" if r["aliases"] else ""
        print(f"{r['name']}  v{r['version']}{aliases}  run {r['run_id']}  {metrics}")
    return 0
