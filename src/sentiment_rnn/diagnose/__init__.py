"""`sentiment-rnn diagnose`: the tutorial's lessons measured on the user's own model and data:
gradient flow through time (gradient_flow.py), what the model remembers of one review word by
word and its gates (memory.py), on fresh models of each cell or a trained one (report.py)."""
