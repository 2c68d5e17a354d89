"""Adapters for foreign runtimes, one package per runtime; each is an optional extra, imported only when used
(``import crm_env`` imports none of them)."""
