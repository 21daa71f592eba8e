"""The embeddable widget: visitors on the owners' sites chat with a bot (see README)."""
