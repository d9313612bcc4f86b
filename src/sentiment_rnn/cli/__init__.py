"""`sentiment-rnn`: recurrent text classifiers, from labelled text to a tracked, served model.

Thin over the library: each command parses, calls the library once and prints. One module per
command (train, pretrain, evaluate, threshold, check, diagnose, predict, serve, models, data); the options several
commands share are declared once, in options.py.

Exit codes: 0 success, 2 usage error, 1 failure (one-line message; `--debug` for the traceback),
3 `serve` could not start listening (the address is in use or not available, or a worker failed
to start), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM) during a long-running command.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from pathlib import Path

from ..errors import SentimentRNNError
from . import check, data, diagnose, evaluate, models, predict, pretrain, serve, threshold, train, tune

COMMANDS = (train, tune, pretrain, evaluate, threshold, check, diagnose, predict, serve, models, data)  # in the order --help lists them
LONG_RUNNING = ("train", "pretrain-lm", "pretrain-embeddings")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sentiment-rnn", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Run `sentiment-rnn COMMAND --help` for each command's options and examples.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = {}

    def command(name: str, help_text: str, examples: str | None, handler) -> argparse.ArgumentParser:
        sub = subparsers.add_parser(name, help=help_text, description=help_text, epilog=examples,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("--debug", action="store_true", help="show the full traceback on failure")
        sub.set_defaults(handler=handler)
        parser.commands[name] = sub
        return sub

    for module in COMMANDS:
        module.add_parser(command)
    return parser


def _version() -> str:
    from ..version import __version__

    return __version__


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command != "predict":
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "predict":
        # Texts may follow options (`predict DIR --json "text"`): plain parse_args cannot do that.
        args = parser.commands["predict"].parse_intermixed_args(argv[argv.index("predict") + 1:])
        args.command = "predict"
    return args


class Terminated(KeyboardInterrupt):
    """SIGTERM (what `timeout`, Docker, Kubernetes and Slurm send), raised in the main thread like
    Ctrl-C's KeyboardInterrupt, so that a training run ends KILLED and its checkpoints stay whole."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated


_PYTHON_SHOW_WARNING = warnings.showwarning
_PACKAGE = str(Path(__file__).resolve().parents[1])


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Our own warnings as one line a user reads ("warning: ..."); others keep Python's format."""
    if category is UserWarning and str(Path(filename).resolve()).startswith(_PACKAGE):
        print(f"warning: {message}", file=file or sys.stderr)
    else:
        _PYTHON_SHOW_WARNING(message, category, filename, lineno, file, line)


def main(argv: list[str] | None = None) -> int:
    warnings.showwarning = _show_warning
    args = parse(argv)
    if args.command in LONG_RUNNING:
        import signal

        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return args.handler(args) or 0
    except SentimentRNNError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print("terminated" if terminated else "interrupted", file=sys.stderr)
        return 143 if terminated else 130
    except Exception as exc:  # an unexpected failure: still one line, unless --debug
        if args.debug:
            traceback.print_exc()
        print(f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
