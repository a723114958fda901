"""The Pareto front of (fps, accuracy) points and the trade-off plot that marks it."""

from __future__ import annotations


def pareto_front(points: list[tuple[float, float]]) -> list[bool]:
    """For each (fps, accuracy): True when no other point is at least as good in both and
    better in one (higher is better for both)."""
    out = []
    for i, (f, a) in enumerate(points):
        beaten = any(
            f2 >= f and a2 >= a and (f2 > f or a2 > a)
            for j, (f2, a2) in enumerate(points)
            if j != i
        )
        out.append(not beaten)
    return out


def plot(rows, path, title: str, metric_name: str = "mIoU") -> None:
    """Accuracy against end-to-end fps, one marker per model, the front joined and labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from liveseg.bench.results import save_figure

    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    markers = "osD^vP*Xh"
    models = list(dict.fromkeys(r["model"] for r in rows))
    for k, name in enumerate(models):
        rs = [r for r in rows if r["model"] == name]
        ax.scatter(
            [r["fps"] for r in rs],
            [100 * r["miou"] for r in rs],
            s=36,
            marker=markers[k % len(markers)],
            alpha=0.6,
            label=name,
        )
    front = sorted((r for r in rows if r["pareto"]), key=lambda r: r["fps"])
    ax.plot(
        [r["fps"] for r in front],
        [100 * r["miou"] for r in front],
        "-",
        color="black",
        lw=1.2,
        label="Pareto front",
    )
    mid = (front[0]["fps"] + front[-1]["fps"]) / 2 if front else 0
    for r in front:
        ax.scatter([r["fps"]], [100 * r["miou"]], s=90, facecolors="none", edgecolors="black")
        right = r["fps"] > mid  # labels of the faster half lean left, so none leaves the axes
        ax.annotate(
            r["label"],
            (r["fps"], 100 * r["miou"]),
            fontsize=7,
            xytext=(-5 if right else 5, 5),
            ha="right" if right else "left",
            textcoords="offset points",
        )
    ax.set_xlabel("end-to-end fps (liveseg run: decode, model, temporal, composite)")
    ax.set_ylabel(f"{metric_name} (x100)")
    ax.grid(alpha=0.3)
    ax.margins(x=0.1, y=0.1)
    ax.legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
