"""The exit codes of ``crm-env``, declared once (the README's table is this list)."""

EXIT_OK = 0  # done, every gate held
EXIT_GATE = 1  # done, but a check failed: a reward-audit gate, dataset findings
EXIT_USAGE = 2  # bad input or configuration: nothing was run, nothing half-written
EXIT_INFRA = 3  # ran, but episodes failed for infrastructure reasons (or none was scored): --resume retries them
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C: what finished is saved; --resume continues
