"""The `vigie` subcommands, one module each: argv in, exit status out (cli.py dispatches)."""
