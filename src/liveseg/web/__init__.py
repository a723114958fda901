"""``liveseg web``: the shipped models in a browser page (onnxruntime-web, WASM or WebGPU).

    static/      the page: index.html, app.js (camera/video, effects on a canvas, readout),
                 worker.js (inference off the main thread), processing.mjs (the runtime's
                 pre/postprocessing in JavaScript)
    config.py    model card + detected I/O -> the page's JSON configuration
    assets.py    where the onnxruntime-web files are, and what to run when they are missing
    server.py    the local HTTP server (cross-origin isolation headers for WASM threads)

The onnxruntime-web files come from npm (``package.json`` pins the version; ``npm ci --prefix
src/liveseg/web`` puts them in the git-ignored ``node_modules``), never from a CDN.
"""
