"""``humanparse labels [NAME]``: list label sets, or the classes and colours of one."""

from __future__ import annotations

import typer


def labels_command(name: str = typer.Argument(None, help="Label set name; omit to list all sets."),
                   as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the label sets humanparse knows, or the classes of one set with their palette colours."""
    import json

    from rich.console import Console
    from rich.table import Table

    from ..labels import get_label_set, label_set_names

    console = Console()
    if name is None:
        sets = [get_label_set(n) for n in label_set_names()]
        if as_json:
            print(json.dumps([{"name": s.name, "title": s.title, "classes": len(s)} for s in sets]))
            return
        t = Table("name", "classes", "title")
        for s in sets:
            t.add_row(s.name, str(len(s)), s.title)
        console.print(t)
        return
    try:
        ls = get_label_set(name)
    except KeyError as e:
        Console(stderr=True).print(f"[bold red]error[/] {e.args[0]}")
        raise typer.Exit(2)
    if as_json:
        print(json.dumps(ls.to_dict()))
        return
    t = Table("id", "class", "colour", title=ls.title)
    for i, c in enumerate(ls.classes):
        r, g, b = (int(v) for v in ls.palette[i])
        t.add_row(str(i), c, f"[on rgb({r},{g},{b})]      [/] #{r:02x}{g:02x}{b:02x}")
    console.print(t)
