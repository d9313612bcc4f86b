"""The diagnose figures, drawn from the same numbers the JSON file holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..plots import _pyplot

COLOURS = {"rnn": "tab:red", "lstm": "tab:blue", "gru": "tab:green"}


def figures(result: dict[str, Any]) -> dict[str, Any]:
    """name → matplotlib figure, for the PNG files and the MLflow run."""
    found = {"gradient_flow": gradient_flow(result["gradient_flow"]), "memory": memory(result["memory"])}
    if result.get("clipping"):
        found["clipping"] = clipping(result["clipping"])
    return found


def write_all(result: dict[str, Any], out: Path) -> dict[str, str]:
    plt = _pyplot()
    written = {}
    for name, fig in figures(result).items():
        fig.savefig(out / f"{name}.png", dpi=110)
        plt.close(fig)
        written[name] = f"{name}.png"
    return written


def gradient_flow(flows: dict[str, Any]):
    plt = _pyplot()
    pooled = any("max_pooling" in f for f in flows.values())
    fig, axes = plt.subplots(1, 2 if pooled else 1, figsize=(12 if pooled else 7, 4.5), squeeze=False)
    panels = [("last-state pooling" if pooled else "", lambda f: f)]
    if pooled:
        panels.append(("max pooling", lambda f: f.get("max_pooling")))
    for ax, (title, pick) in zip(axes[0], panels):
        for cell, flow in flows.items():
            flow = pick(flow)
            if not flow:
                continue
            colour = COLOURS.get(cell)
            ax.semilogy(flow["distance"], flow["norm"], color=colour, label=f"{cell}, trained")
            ax.semilogy(flow["distance"], flow["norm_at_init"], color=colour, linestyle="--", alpha=0.7,
                        label=f"{cell}, at initialisation")
        ax.set_xlabel("steps back from the output position")
        ax.set_ylabel("mean ‖∂loss/∂h_t‖")
        ax.set_title(f"Gradient flow through time{': ' + title if title else ''}")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def memory(mem: dict[str, Any]):
    plt = _pyplot()
    tokens = mem["tokens"]
    x = range(len(tokens))
    has_gates = bool(mem["gates"])
    fig, axes = plt.subplots(2 if has_gates else 1, 1, figsize=(max(7, 0.55 * len(tokens)), 6 if has_gates else 3.5),
                             sharex=True, squeeze=False)
    ax = axes[0][0]
    ax.plot(x, mem["probability"], "o-", label="after each prefix (reading forward)")
    # The backward reading has seen the suffix that starts at each word.
    ax.plot(x, mem["probability_backward"][::-1], "s--", alpha=0.7, label="after each suffix (reading backward)")
    ax.axhline(0.5, color="grey", linewidth=0.8)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"p({mem['class']})")
    ax.set_title("What the model predicts, word by word")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if has_gates:
        gates_ax = axes[1][0]
        for name, values in mem["gates"].items():
            gates_ax.plot(x, values, "o-", label=f"{name} gate")
        gates_ax.set_ylim(0, 1)
        gates_ax.set_ylabel("mean gate activation")
        gates_ax.legend(fontsize=8)
        gates_ax.grid(alpha=0.3)
    bottom = axes[-1][0]
    bottom.set_xticks(list(x))
    bottom.set_xticklabels(tokens, rotation=60, ha="right")
    fig.tight_layout()
    return fig


def clipping(demo: dict[str, Any]):
    plt = _pyplot()
    fig, (norm_ax, loss_ax) = plt.subplots(1, 2, figsize=(12, 4))
    for name, style in (("unclipped", "tab:red"), ("clipped", "tab:blue")):
        run = demo[name]
        label = f"clip_norm {run['clip_norm']:g}" if run["clip_norm"] else "no clipping"
        norm_ax.semilogy(run["grad_norm"], color=style, label=label)
        loss_ax.plot(run["loss"], color=style, label=label)
    norm_ax.set_title(f"Pre-clip gradient norm ({demo['cell']}, recurrent weights ×{demo['recurrent_weight_factor']:g})")
    norm_ax.set_xlabel("step")
    loss_ax.set_title("Loss")
    loss_ax.set_xlabel("step")
    for ax in (norm_ax, loss_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
