"""Insights for owners: the questions their bot could not answer, and how it is used."""
