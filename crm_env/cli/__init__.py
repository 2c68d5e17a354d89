"""The ``crm-env`` command line: thin subcommands over library functions."""
