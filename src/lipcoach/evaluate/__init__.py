"""Accuracy measures, mir_eval style: one module per task with validate(), metric functions and evaluate()."""
