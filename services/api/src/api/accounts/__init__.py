"""Accounts: passwords, tokens, and who may write what."""
