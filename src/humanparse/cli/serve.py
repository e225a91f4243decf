"""``humanparse serve``: the REST API and Web UI (FastAPI + uvicorn) in one process."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import (BackendOpt, DetectThresholdOpt, FlipOpt, MaxPersonsOpt, ModelOpt, WeightsOpt, backend_options,
                     detect_option, err_console, flip_option)


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind. Default loopback only; "
                             "use 0.0.0.0 deliberately (there is no authentication)."),
    port: int = typer.Option(8000, "--port", "-p", min=0, max=65535, help="TCP port (0 = any free port)."),
    backend: str = BackendOpt,
    max_persons: int = MaxPersonsOpt,
    weights: Path = WeightsOpt,
    model: str = ModelOpt,
    flip: bool = FlipOpt,
    detect_threshold: float = DetectThresholdOpt,
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Inference worker threads (each loads its own model)."),
    queue_size: int = typer.Option(8, "--queue-size", min=0, help="Requests that may wait for a worker; more get 503."),
    timeout: float = typer.Option(60.0, "--timeout", min=0.1, help="Seconds a request may wait and run; then 504."),
    max_upload_mb: float = typer.Option(20.0, "--max-upload-mb", min=0.01, help="Largest upload (MiB); larger get 413."),
    max_megapixels: float = typer.Option(40.0, "--max-megapixels", min=0.01, help="Largest image (MP); larger get 413."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the REST API (/v1/parse, /v1/cutout, /v1/labels, /v1/models, /healthz, /metrics, /docs) and the Web UI (/)."""
    try:
        import uvicorn

        from ..service import create_app
    except ImportError as e:
        err_console.print(f"[bold red]error[/] the service needs its extra: pip install 'humanparse[serve]' ({e})")
        raise typer.Exit(2)
    from ..backends import backend_class
    from ..errors import HumanParseError

    try:
        backend_class(backend)  # fail fast with a clear message before binding the port
    except HumanParseError as e:
        err_console.print(f"[bold red]error[/] {e}")
        raise typer.Exit(2)
    app = create_app(backend=backend, backend_options=backend_options(max_persons, weights, model, **flip_option(backend, flip),
                                                            **detect_option(backend, detect_threshold)),
                     max_upload_bytes=int(max_upload_mb * 2**20), max_pixels=int(max_megapixels * 1e6),
                     queue_size=queue_size, workers=workers, timeout_s=timeout)
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(f"[yellow]warning[/] binding {host}: the service has no authentication")
    # One uvicorn process: the model lives in this process and the pool's threads share nothing else.
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1,
                limit_concurrency=max(32, 4 * (workers + queue_size)), timeout_keep_alive=5)
