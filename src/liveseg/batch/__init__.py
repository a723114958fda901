"""``liveseg batch``: many videos and images on Ray Data, locally or on a cluster.

- ``inputs``: INPUT arguments -> items with their output paths (checked up front)
- ``manifest``: ``OUTDIR/manifest.jsonl``, read for ``--resume``, appended as inputs finish
- ``worker``: the actor that holds one model session and processes one task at a time
- ``cluster``: Ray start/join and the actor pool (``ActorPoolStrategy``)
- ``report``: progress bars and the summary table
- ``driver``: ``process_batch``, which ties them together

Ray is an optional extra (``pip install 'liveseg[ray]'``); nothing here imports it at import
time.
"""

from liveseg.batch.driver import process_batch  # noqa: F401
