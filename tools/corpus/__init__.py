"""Builders of the openly licensed, non-template parts of the classifier corpus."""
