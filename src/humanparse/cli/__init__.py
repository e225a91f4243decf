"""Command-line interface (``humanparse ...``), built with typer. One module per command."""
