"""The command line: the one boundary that turns ftops errors into messages and exit codes."""
