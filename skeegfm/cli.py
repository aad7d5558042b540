"""The ``skeegfm`` command: ``benchmark``, ``embed`` and ``models``.

``skeegfm benchmark`` cross-validates linear probes of the encoders on the
bundled EEGMAT recordings (or on an ``-epo.fif`` file), ``skeegfm embed``
writes frozen-encoder embeddings of recordings MNE can read to an ``.npz``
file (one recording) or a Zarr store (many), and ``skeegfm models`` lists the
released checkpoints and their input contracts. ``python -m skeegfm`` is the
same command.

This module parses the arguments, calls the jobs (:mod:`skeegfm.jobs`:
:func:`~skeegfm.jobs.run_benchmark`, :func:`~skeegfm.jobs.run_embed`) and
turns their outcome into an exit status. The models it knows come from the
model records (:func:`skeegfm.list_models`), read when a command runs, never
for ``--help``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]

_UNITS = ("V", "mV", "uV", "\u00b5V")


#: Exit statuses of the command (also in ``skeegfm --help`` and docs/security.rst).
EXIT_OK = 0
EXIT_INTERNAL = 1  # an unexpected error inside skeegfm: a bug to report
EXIT_USER = 2  # usage, input, file or environment error the user can fix
EXIT_PARTIAL = 3  # embed into a store: some recordings failed (listed in the summary)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)

_EPILOG = """\
exit status:
  0    success
  1    internal error: an unexpected failure inside skeegfm (please report it,
       with the output of the same command run with --debug)
  2    usage or input error: bad arguments, a missing, unreadable, corrupt or
       untrusted file, weights not available offline, ... (the one-line
       message on stderr says what to fix)
  3    embed into a store: some recordings could not be embedded (the summary
       lists them and why; the store records them as failed)
  130  interrupted (Ctrl-C)

Errors are printed as one line on stderr; --debug prints the traceback too.
"""


class CommandError(Exception):
    """A user-facing error: printed on one line, exit status 2."""


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _parse_checkpoints(items):
    """``["eegpt=/path", ...]`` -> ``{"eegpt": "/path"}``."""
    out = {}
    for item in items or ():
        model, sep, target = item.partition("=")
        if not sep or not model.strip() or not target.strip():
            raise CommandError(
                f"--checkpoint expects MODEL=PATH (e.g. eegpt=./my-eegpt), got {item!r}."
            )
        out[model.strip()] = target.strip()
    return out


def _parse_ch_aliases(items):
    """``["EEG-0=Fz", ...]`` -> ``{"EEG-0": "Fz"}`` (None when no item)."""
    out = {}
    for item in items or ():
        old, sep, new = item.rpartition("=")
        if not sep or not old.strip() or not new.strip():
            raise CommandError(
                f"--ch-alias expects OLD=NEW (a recorded channel name and the electrode it is, "
                f"e.g. EEG-0=Fz), got {item!r}."
            )
        if old.strip() in out:
            raise CommandError(f"--ch-alias gives channel {old.strip()!r} twice.")
        out[old.strip()] = new.strip()
    return out or None


def _add_channel_args(parser):
    """The channel options shared by ``embed`` and ``benchmark``.

    They map to the estimators' ``on_missing``, ``on_unknown`` and
    ``ch_aliases`` (:func:`_channel_params` turns parsed arguments into those).
    """
    parser.add_argument(
        "--on-missing",
        choices=("raise", "interpolate", "zero"),
        default="raise",
        help="models whose channels are matched by position (see 'skeegfm models'): what to "
        "do with the channels of their montage missing from the data: raise, interpolate "
        "(spherical splines; template 10-05 positions when the file has none) or zero "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--on-unknown",
        choices=("auto", "raise", "drop"),
        default="auto",
        help="EEG channels a model has no channel for: auto leaves out 10-05 electrodes and "
        "stops on bipolar derivations and names that are not electrodes; drop leaves out all "
        "of them; raise stops on any (default: %(default)s)",
    )
    parser.add_argument(
        "--ch-alias",
        action="append",
        metavar="OLD=NEW",
        help="the electrode a recorded channel is, e.g. EEG-0=Fz; repeat per channel",
    )


def _channel_params(args):
    """Estimator parameters of the options added by :func:`_add_channel_args`."""
    return dict(
        on_missing=args.on_missing,
        on_unknown=args.on_unknown,
        ch_aliases=_parse_ch_aliases(args.ch_alias),
    )


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="skeegfm",
        description="scikit-learn estimators around EEG foundation models "
        "('skeegfm models' lists them).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"skeegfm {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="on an error, print the full traceback too"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    bench = sub.add_parser(
        "benchmark",
        help="cross-validated linear probes of the encoders (default: bundled EEGMAT data)",
        description="Embed every epoch once with each frozen encoder, cross-validate a "
        "StandardScaler + LogisticRegression probe (GroupKFold over subjects by default), and "
        "score a log-band-power baseline in the same folds. Everything that can fail is "
        "checked before any encoder runs; an encoder that cannot take the data gets a row "
        "saying why. Prints a table and writes results.csv, results.json and results.png.",
    )
    bench.add_argument(
        "--models",
        metavar="NAME,...",
        help="comma-separated model names or aliases, as 'skeegfm models' lists them "
        "(default: the models of the default benchmark, one per encoder)",
    )
    bench.add_argument(
        "--weights",
        choices=("pretrained", "random"),
        default="pretrained",
        help="released Hub weights (default; random initialisation when neither cached nor "
        "downloadable, marked 'random') or random initialisation for all models",
    )
    bench.add_argument(
        "--checkpoint",
        action="append",
        metavar="MODEL=PATH",
        help="weights of one model: a local directory/file, a Hub id owner/name, "
        "or 'random'; repeat per model",
    )
    _add_trust_arg(bench)
    bench.add_argument("--data", metavar="FILE-epo.fif", help="MNE Epochs file (default: bundled EEGMAT)")
    bench.add_argument(
        "--label-column", metavar="COL", help="metadata column of the labels (default: event names)"
    )
    bench.add_argument(
        "--group-column",
        metavar="COL",
        help="metadata column of the subjects (default: 'subject' when present)",
    )
    bench.add_argument(
        "--cv",
        choices=("auto", "group", "stratified"),
        default="auto",
        help="folds: 'group' = GroupKFold over the groups (cross-subject); 'stratified' = "
        "StratifiedKFold over epochs (within-subject, optimistic scores); 'auto' (default): "
        "group with >= 2 groups, else stratified with a notice",
    )
    bench.add_argument(
        "--n-splits",
        type=_positive_int,
        help="folds (default: min(5, n_groups) for group folds, min(5, epochs of the smallest "
        "class) for stratified ones)",
    )
    bench.add_argument(
        "--bands",
        metavar="NAME=LOW-HIGH,...",
        help="baseline bands in Hz, e.g. theta=4-8,alpha=8-13 (default: theta 4-8, alpha 8-13, "
        "beta 13-30, clipped to the Nyquist frequency with a notice)",
    )
    _add_channel_args(bench)
    bench.add_argument(
        "--output-dir", default="skeegfm-benchmark", help="results folder (default: %(default)s)"
    )
    _add_runtime_args(bench)
    bench.set_defaults(func=_cmd_benchmark)

    embed = sub.add_parser(
        "embed",
        help="embed EEG recordings (EDF, BDF, FIF, BrainVision, EEGLAB, -epo.fif, folders, "
        "BIDS) into an .npz file or a Zarr store",
        description="Read recordings lazily with MNE, cut them into windows (or use the "
        "epochs of an -epo.fif file) and embed them with a frozen encoder, a chunk of windows "
        "at a time (the memory does not grow with the recording's length); channels the model "
        "cannot use are left out, with a notice. One recording with -o OUT.npz (or no -o) "
        "gives an .npz with embeddings (n_windows, n_features), onsets_s, ch_names (the "
        "channels used), dropped_ch_names, filled_ch_names, input_report (JSON: every "
        "adaptation), model, checkpoint and skeegfm_version. Several recordings, folders or "
        "BIDS roots (or -o OUT.zarr) give one Zarr store, filled by Dask workers, resumed when "
        "rerun (complete recordings are skipped) and going on past recordings that fail "
        "(listed at the end; exit status 3).",
    )
    embed.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="recording(s) MNE can read, folders of recordings, or BIDS roots",
    )
    embed.add_argument(
        "--model",
        required=True,
        metavar="NAME",
        help="the encoder: a model name or alias, as 'skeegfm models' lists them",
    )
    embed.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="OUT.npz (one recording) or OUT.zarr (a store; resumed if it exists)",
    )
    embed.add_argument(
        "--output-dir",
        default=".",
        help="folder for <input>_<model>.npz, or for embeddings_<model>.zarr when there are "
        "several inputs, when -o is not given (default: current folder)",
    )
    embed.add_argument(
        "--window",
        type=_positive_float,
        default=4.0,
        help="window length in seconds for continuous recordings (default: %(default)s)",
    )
    embed.add_argument(
        "--stride",
        type=_positive_float,
        help="step between window onsets in seconds (default: the window length)",
    )
    embed.add_argument(
        "--weights",
        choices=("pretrained", "random"),
        default="pretrained",
        help="released Hub weights (default; an error when unavailable) or random "
        "initialisation (recorded as checkpoint 'random' in the file)",
    )
    embed.add_argument(
        "--checkpoint", metavar="PATH", help="local weights (directory or file) or Hub id"
    )
    _add_channel_args(embed)
    _add_trust_arg(embed)
    embed.add_argument(
        "--unit",
        choices=_UNITS,
        help="the unit the file's values are really in, when its unit field is wrong or "
        "missing (e.g. an EDF that says V but holds microvolts); default: the file's",
    )
    embed.add_argument(
        "--encoding",
        help="character encoding of EDF/BDF headers, passed to MNE's reader (default: utf8)",
    )
    embed.add_argument(
        "--glob",
        metavar="PATTERN",
        help="recordings in folders, e.g. '**/*.edf' (default: every file with an extension "
        "MNE reads; a folder with dataset_description.json is read as a BIDS root)",
    )
    embed.add_argument(
        "--scheduler",
        default="processes",
        metavar="SCHEDULER",
        help="stores: 'processes' (default: a local Dask cluster of --workers processes), "
        "'threads', 'synchronous' (no Dask, for debugging) or a Dask scheduler address "
        "tcp://host:8786",
    )
    embed.add_argument(
        "--workers",
        type=_positive_int,
        help="workers of a local cluster (default: the number of CPU cores)",
    )
    embed.add_argument(
        "--store-dtype",
        choices=("float32", "float16"),
        default="float32",
        help="dtype of the embeddings in a store (default: %(default)s)",
    )
    embed.add_argument(
        "--chunk-windows",
        type=_positive_int,
        default=256,
        help="windows read and embedded at a time; bounds the memory (default: %(default)s)",
    )
    embed.add_argument(
        "--overwrite", action="store_true", help="start the store afresh instead of resuming it"
    )
    _add_runtime_args(embed)
    embed.set_defaults(func=_cmd_embed)

    models = sub.add_parser("models", help="list the released checkpoints and their input contracts")
    models.set_defaults(func=_cmd_models)
    for subparser in sub.choices.values():
        subparser.epilog = _EPILOG
        subparser.formatter_class = argparse.RawDescriptionHelpFormatter
        # Also accepted after the command; SUPPRESS keeps a --debug given before it.
        subparser.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS,
            help="on an error, print the full traceback too",
        )
    return parser


def _add_trust_arg(parser):
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow fully unpickling a local checkpoint file that holds Python objects "
        "beyond tensors; this runs any code the file carries, so only for files you trust "
        "(safetensors files, Hub repositories and the authors' released formats never need it)",
    )


def _add_runtime_args(parser):
    parser.add_argument(
        "--device", default="auto", help="torch device: auto, cpu, cuda, cuda:1 ... (default: auto)"
    )
    parser.add_argument(
        "--batch-size", type=_positive_int, default=32, help="epochs per forward pass (default: 32)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


# --------------------------------------------------------------------------- benchmark


def _parse_bands(text):
    """``"theta=4-8,alpha=8-13"`` -> ``{"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}``."""
    if text is None:
        return None
    bands = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, edges = item.partition("=")
        low, dash, high = edges.partition("-")
        try:
            if not (sep and dash and name.strip()):
                raise ValueError
            bands[name.strip()] = (float(low), float(high))
        except ValueError:
            raise CommandError(
                f"--bands expects NAME=LOW-HIGH[,...] in Hz (e.g. theta=4-8,alpha=8-13), "
                f"got {item!r}."
            ) from None
    if not bands:
        raise CommandError("--bands is empty; give NAME=LOW-HIGH[,...] (e.g. alpha=8-13).")
    return bands


def _cmd_benchmark(args):
    from .jobs.benchmark import format_table, run_benchmark

    models = None
    if args.models is not None:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
        if not models:
            raise CommandError(
                "--models is empty; name at least one model ('skeegfm models' lists them)."
            )
    results = run_benchmark(
        models,
        weights=args.weights,
        checkpoints=_parse_checkpoints(args.checkpoint),
        data=args.data,
        label_column=args.label_column,
        group_column=args.group_column,
        n_splits=args.n_splits,
        cv=args.cv,
        bands=_parse_bands(args.bands),
        **_channel_params(args),
        output_dir=args.output_dir,
        device=args.device,
        batch_size=args.batch_size,
        random_state=args.seed,
        progress=not args.quiet,
        trust_checkpoint=args.trust_checkpoint,
    )
    print(format_table(results))
    if (results["weights_kind"] == "random").any():
        print(
            "\nRows with weights 'random' use randomly initialised encoders: they measure the "
            "architecture, not the pretrained model."
        )
    failed = results[results["status"] != "ok"]
    if len(failed):
        print("\nFailed rows (the other rows are complete):")
        for row in failed.itertuples(index=False):
            print(f"- {row.encoder}: {row.error}")
    out = Path(args.output_dir)
    print(f"\nWrote {out / 'results.csv'}, {out / 'results.json'} and {out / 'results.png'}.")
    return EXIT_OK


# --------------------------------------------------------------------------- embed


def _embed_output(args):
    """The output of ``-o`` (checked in the command's words), or None for the job's default."""
    if args.output is None:
        return None
    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix == ".npz" and (len(args.inputs) > 1 or Path(args.inputs[0]).is_dir()):
        raise CommandError(
            "-o OUT.npz takes one INPUT file; use -o OUT.zarr (a store) for several "
            "recordings or a folder."
        )
    if suffix not in (".npz", ".zarr"):
        raise CommandError(
            f"-o {args.output}: the output must end in .npz (one recording) or .zarr (a store)."
        )
    return out


def _cmd_embed(args):
    from .jobs.embed import run_embed

    report = run_embed(
        args.inputs,
        _embed_output(args),
        model=args.model,
        output_dir=args.output_dir,
        weights=args.weights,
        checkpoint=args.checkpoint,
        window=args.window,
        stride=args.stride,
        **_channel_params(args),
        unit=args.unit,
        encoding=args.encoding,
        batch_size=args.batch_size,
        device=args.device,
        seed=args.seed,
        trust_checkpoint=args.trust_checkpoint,
        chunk_windows=args.chunk_windows,
        glob=args.glob,
        store_dtype=args.store_dtype,
        scheduler=args.scheduler,
        n_workers=args.workers,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    print(report)
    return EXIT_PARTIAL if report.failed else EXIT_OK


# --------------------------------------------------------------------------- models


def _cmd_models(args):
    from .jobs._records import models_table

    print(models_table())
    return EXIT_OK


def _one_line(exc) -> str:
    """The message of ``exc`` on one line (multi-line messages joined).

    A ``KeyError``'s ``str()`` is the repr of its argument (quoted); its
    message is the argument itself.
    """
    message = exc.args[0] if isinstance(exc, KeyError) and len(exc.args) == 1 else exc
    text = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
    return text or type(exc).__name__


def _is_user_error(exc) -> bool:
    """Errors the user can fix (bad input, files, environment) vs. bugs."""
    import pickle

    from safetensors import SafetensorError

    from .jobs import MissingDependencyError
    from .models import UntrustedCheckpointError, WeightsNotAvailableError

    user_types = (
        CommandError,
        ValueError,  # includes UntrustedCheckpointError, RecordingError, bad config.json values
        OSError,  # includes WeightsNotAvailableError, FileNotFoundError, disk full
        KeyError,  # unknown registry names (the jobs say ValueError; the library KeyError)
        MissingDependencyError,  # an optional extra to install; the message names it
        SafetensorError,
        pickle.UnpicklingError,
        EOFError,
        UntrustedCheckpointError,
        WeightsNotAvailableError,
    )
    return isinstance(exc, user_types)


def main(argv=None):
    """Run the ``skeegfm`` command.

    Parameters
    ----------
    argv : list of str | None
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success; 2 for a usage, input, file or environment error the
        user can fix (``ValueError``, ``OSError`` including
        ``WeightsNotAvailableError``, an untrusted or corrupt checkpoint);
        1 for an unexpected internal error; 130 when interrupted (Ctrl-C).
        Every error is one line on stderr, ``skeegfm <command>: error: ...``;
        with ``--debug`` the traceback follows. argparse's own usage errors
        exit with 2 through ``SystemExit``.
    """
    from ._channels import option_style

    parser = _build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        # Messages of the shared checks name this command's flags
        # (--on-unknown drop), not the estimators' parameters.
        with option_style("cli"):
            return args.func(args)
    except KeyboardInterrupt:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"skeegfm {args.command}: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - every failure ends in one line
        if debug:
            import traceback

            traceback.print_exc()
        if _is_user_error(exc):
            print(f"skeegfm {args.command}: error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_USER
        print(
            f"skeegfm {args.command}: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(this is a bug in skeegfm; please report it with the output of the same "
            "command run with --debug)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
