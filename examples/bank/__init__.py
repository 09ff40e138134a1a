"""The bank vertical: accounts, cards, loans and complaints of a retail bank."""
