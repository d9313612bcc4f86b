"""`sentiment-rnn tune`: hyper-parameter search on Optuna (space.py: what is searched; study.py: the
study, its trials, their MLflow runs and the best model)."""
