"""`liveseg web`: serve a page that segments the webcam (or a video) in the browser with
onnxruntime-web, using the same model, card and effects as `liveseg run`.

Nothing heavy is imported at module level.
"""

from __future__ import annotations

HELP = "serve a browser page that segments your webcam with the model (onnxruntime-web)"

EFFECTS = ("blur", "replace", "overlay", "matte")


def add_arguments(parser):
    parser.add_argument(
        "--model",
        default=None,
        metavar="NAME|PATH",
        help="shipped model name or .onnx file (default: liveseg run's default model)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; browsers allow the "
        "camera and WASM threads only on localhost or https)",
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)"
    )
    parser.add_argument("--no-open", action="store_true", help="do not open a browser")
    parser.add_argument(
        "--video", metavar="FILE", help="serve this video file and play it instead of the webcam"
    )
    parser.add_argument(
        "--effect",
        default=None,
        metavar="|".join(EFFECTS),
        help="the page's first effect (default: blur for foreground models, "
        "overlay otherwise; the page can switch)",
    )
    g = parser.add_argument_group("foreign-model overrides (as for liveseg run)")
    g.add_argument(
        "--input-size",
        default=None,
        metavar="WxH",
        help="model input size: for models with dynamic input dimensions, or to run a fully "
        "convolutional model at another size (e.g. 224x224: faster in the browser)",
    )
    g.add_argument(
        "--mean",
        default=None,
        metavar="R,G,B",
        help="input normalisation mean in units of pixel/255",
    )
    g.add_argument(
        "--std", default=None, metavar="R,G,B", help="input normalisation std in units of pixel/255"
    )
    g.add_argument("--layout", default=None, metavar="nchw|nhwc", help="model input layout")
    g.add_argument(
        "--classes",
        default=None,
        metavar="a,b,...",
        help="class names, in the model's output order",
    )


def _load(args):
    """The model as `liveseg run` opens it (ONNX Runtime here only reads its I/O)."""
    from liveseg import zoo
    from liveseg.errors import ModelError
    from liveseg.runtime.cli_args import overrides_from_args
    from liveseg.runtime.model import load_model, resolve_model_path

    spec = args.model or zoo.DEFAULT_MODEL
    path = resolve_model_path(spec)
    if path.suffix.lower() != ".onnx":
        raise ModelError(
            f"liveseg web runs ONNX models (onnxruntime-web); {path.name} is a "
            f"{path.suffix or 'extension-less'} file: export or pick a .onnx model"
        )
    return load_model(
        path, engine="onnxruntime", threads=1, overrides=overrides_from_args(args), siblings=False
    )


def _open_browser(url: str) -> bool:
    """Open the page in the desktop's browser, in the background (False: no desktop found)."""
    import os
    import sys
    import threading
    import webbrowser

    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False  # a console browser would take over this terminal
    threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    return True


def run(args) -> int:
    import sys
    from pathlib import Path
    from urllib.parse import quote

    from liveseg.errors import ConfigError, InputError
    from liveseg.web.assets import ort_dir, pinned_version
    from liveseg.web.config import web_config
    from liveseg.web.server import Site, make_server

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, got {args.port}")
    if args.effect is not None and args.effect not in EFFECTS:
        raise ConfigError(f"unknown effect {args.effect!r}; choose one of: {', '.join(EFFECTS)}")
    video = None
    if args.video is not None:
        video = Path(args.video).expanduser()
        if not video.is_file():
            raise InputError(f"--video not found: {args.video}")
    ort = ort_dir()
    model = _load(args)
    config = web_config(model, f"/model/{quote(model.path.name)}", effect=args.effect)
    server = make_server(
        Site(ort, model.path, config, video), args.host, args.port, quiet=not args.verbose
    )
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    if video is not None:
        url += f"?video=/video/{quote(video.name)}"
    print(
        f"liveseg web: serving {config['name']} at {url} (onnxruntime-web {pinned_version()}; "
        "Ctrl-C stops)",
        flush=True,
    )
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "liveseg web: note: browsers give the camera and WASM threads only to localhost or "
            "https pages; from another machine, tunnel the port (ssh -L) and open localhost",
            file=sys.stderr,
            flush=True,
        )
    if not args.no_open and not _open_browser(url):
        print(
            "liveseg web: no desktop browser to open here: open the address above",
            file=sys.stderr,
            flush=True,
        )
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        print("liveseg web: stopped", file=sys.stderr, flush=True)
    finally:
        server.server_close()
    return 0
