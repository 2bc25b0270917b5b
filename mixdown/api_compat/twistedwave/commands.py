"""``mixdown job ...`` and ``mixdown document ...``: the TwistedWave API on the command line.

Each prints a line per object, or with ``--json`` the document's JSON reply. A refused request exits 2
(with ``--json``, ``{"error": {"message", "param"}}`` on stdout; the ``mixdown`` entry point adds its
one-line message on stderr); a job that ran and ended ``failed`` or ``cancelled`` prints the job and exits 1.
Every command takes ``--store DIR`` (default ``$MIXDOWN_HOME/twistedwave``, else
``~/.local/share/mixdown/twistedwave``); those that run jobs (``job create``, ``job run``) take
``--webhook URL`` for the notifications they cause (every command sends to ``$MIXDOWN_TWISTEDWAVE_WEBHOOK``
when it is set, for the ``document.expired`` any command may find).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mixdown.api_compat.json_input import load_json, parse_json
from mixdown.api_compat.twistedwave.confine import Confinement
from mixdown.api_compat.twistedwave.errors import TwistedWaveError
from mixdown.api_compat.twistedwave.replies import DEFAULT_LIMIT
from mixdown.console import emit, print_json
from mixdown.errors import MixdownError
from mixdown.progress import progress_for

if TYPE_CHECKING:
    from mixdown.api_compat.twistedwave.service import TwistedWave


def default_store() -> Path:
    home = os.environ.get("MIXDOWN_HOME")
    base = Path(home) if home else Path.home() / ".local" / "share" / "mixdown"
    return base / "twistedwave"


def _document_line(doc: dict[str, Any]) -> str:
    title = f" {doc['title']!r}" if doc.get("title") else ""
    deleted = ", deleted" if doc.get("deleted_at") else ""
    return (f"{doc['id']}{title}: {doc['channels']} ch, {doc['sample_rate']:g} Hz, "
            f"{doc['duration']:.3f} s{deleted}")


def _job_line(job: dict[str, Any]) -> str:
    line = f"{job['id']} {job['state']}: document {job['document']['id']}"
    output = job.get("output")
    if output:
        where = output.get("url") or ("kept for download" if output.get("state") == "completed" else "")
        line += f" -> {output.get('format')}" + (f" {where}" if where else "")
    if job.get("error"):
        line += f" ({job['error']})"
    return line


def _plain(reply: dict[str, Any]) -> list[str]:
    """One line per job or document in ``reply`` (an object or a list page)."""
    items = reply["data"] if "data" in reply and "has_more" in reply else [reply]
    lines = [_job_line(item) if "state" in item else _document_line(item) for item in items]
    if reply.get("has_more"):
        lines.append("(more: --starting-after " + items[-1]["id"] + ")")
    return lines


def _print(args: argparse.Namespace, reply: dict[str, Any]) -> None:
    emit(args, reply, _plain(reply), reply.get("warnings", ()))


def _service(args: argparse.Namespace, *, create: bool = False) -> TwistedWave:
    """The service on ``--store``; only a command that makes a job (``create``) may make the store."""
    from mixdown.api_compat.twistedwave.service import TwistedWave

    webhook = getattr(args, "webhook", None) or os.environ.get("MIXDOWN_TWISTEDWAVE_WEBHOOK") or None
    store = args.store or default_store()
    service = TwistedWave(store, webhook=webhook, confinement=_confinement(args, store), create_store=create)
    service.notifier.background = False  # this process exits after its reply: see _run_with_progress
    return service


def _confinement(args: argparse.Namespace, store: str | Path) -> Confinement | None:
    """With ``--allow-root``, job urls stay inside those folders (and the store), http hosts public unless
    ``--allow-private-http``; without it nothing is confined."""
    roots = getattr(args, "allow_root", None)
    if not roots:
        if getattr(args, "allow_private_http", False):
            raise TwistedWaveError("--allow-private-http goes with --allow-root", param="--allow-private-http")
        return None
    return Confinement.of([*roots, store], allow_private_http=args.allow_private_http)


def _limit(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise TwistedWaveError(f"must be a whole number from 1 to 100, got {text!r}", param="limit") from None


def _load_job(path: str) -> Any:
    try:
        if path == "-":
            stream = getattr(sys.stdin, "buffer", sys.stdin)
            return parse_json(stream.read(), None, name="the job on stdin")
        return load_json(path, None)
    except MixdownError as error:
        raise TwistedWaveError(error.message, param=None) from None


def _run_with_progress(args: argparse.Namespace, job_id: str | None, body: Any = None) -> dict[str, Any]:
    """Create (from ``body``) and/or run a job, its steps (import, each edit command, export) counted on the
    progress line."""
    with progress_for(args, "job", unit="steps") as progress:
        service = _service(args, create=body is not None)
        if body is not None:
            progress.stage("validating")
            job_id = service.create_job(body)["id"]
        progress.stage("running")
        try:
            return service.run_job(job_id, on_step=progress)
        finally:
            service.notifier.deliver_detached()


def run_job_create(args: argparse.Namespace) -> int:
    job = _run_with_progress(args, None, _load_job(args.job))
    _print(args, job)
    return 0 if job["state"] == "completed" else 1


def run_job_run(args: argparse.Namespace) -> int:
    job = _run_with_progress(args, args.id)
    _print(args, job)
    return 0 if job["state"] == "completed" else 1


def run_job_get(args: argparse.Namespace) -> int:
    _print(args, _service(args).get_job(args.id))
    return 0


def run_job_list(args: argparse.Namespace) -> int:
    _print(args, _service(args).list_jobs(limit=_limit(args.limit), starting_after=args.starting_after,
                                          document=args.document))
    return 0


def run_job_cancel(args: argparse.Namespace) -> int:
    _print(args, _service(args).cancel_job(args.id))
    return 0


def run_job_download(args: argparse.Namespace) -> int:
    path = _service(args).download(args.id, args.output)
    reply = {"id": args.id, "file": str(path), "file_size": path.stat().st_size}
    emit(args, reply, f"{path}: {reply['file_size']} bytes from job {args.id}")
    return 0


def run_document_get(args: argparse.Namespace) -> int:
    _print(args, _service(args).get_document(args.id))
    return 0


def run_document_list(args: argparse.Namespace) -> int:
    _print(args, _service(args).list_documents(limit=_limit(args.limit), starting_after=args.starting_after,
                                               include_deleted=args.include_deleted))
    return 0


def run_document_delete(args: argparse.Namespace) -> int:
    _print(args, _service(args).delete_document(args.id))
    return 0


def reply_on_error(args: argparse.Namespace, error: MixdownError) -> None:
    """Print TwistedWave's error body on stdout (``--json``; the entry point then prints its line on stderr)."""
    body = error.body() if isinstance(error, TwistedWaveError) else {
        "error": {"message": error.message, "param": error.field}}
    print_json(body)


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="DIR", help="store folder (default: $MIXDOWN_HOME/twistedwave)")
    return common


def _notifying() -> argparse.ArgumentParser:
    """``--webhook``, for the commands whose work sends notifications."""
    notifying = argparse.ArgumentParser(add_help=False)
    notifying.add_argument("--webhook", metavar="URL", default=os.environ.get("MIXDOWN_TWISTEDWAVE_WEBHOOK"),
                           help="URL notifications are POSTed to (default: $MIXDOWN_TWISTEDWAVE_WEBHOOK)")
    return notifying


def _confining() -> argparse.ArgumentParser:
    """``--allow-root`` and ``--allow-private-http``, for the commands that run jobs."""
    confining = argparse.ArgumentParser(add_help=False)
    confining.add_argument("--allow-root", action="append", metavar="DIR",
                           help="confine job urls to this folder (repeatable; the store is always allowed)")
    confining.add_argument("--allow-private-http", action="store_true",
                           help="with --allow-root: let urls reach loopback and private-network http hosts")
    return confining


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", metavar="N", default=str(DEFAULT_LIMIT), help="1 to 100 (default: %(default)s)")
    parser.add_argument("--starting-after", metavar="ID", help="the id after which the page starts")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``job`` and ``document`` on the ``mixdown`` command's subparsers (each leaf sets ``run`` and
    ``on_error``)."""
    common = _common()

    job = subparsers.add_parser("job", help="TwistedWave jobs: import, edit offline, export")
    jobs = job.add_subparsers(dest="job_command", required=True, metavar="ACTION")
    running = [common, _notifying(), _confining()]
    create = jobs.add_parser("create", parents=running, help="create a job from JSON and run it to its end")
    create.add_argument("job", metavar="JOB.json", help="the job object as JSON (a file, or - for stdin)")
    create.set_defaults(run=run_job_create)
    rerun = jobs.add_parser("run", parents=running, help="run a job created elsewhere, or resume an interrupted one")
    rerun.add_argument("id", metavar="ID")
    rerun.set_defaults(run=run_job_run)
    get = jobs.add_parser("get", parents=[common], help="print a job")
    get.add_argument("id", metavar="ID")
    get.set_defaults(run=run_job_get)
    listing = jobs.add_parser("list", parents=[common], help="list jobs, newest first")
    _paging(listing)
    listing.add_argument("--document", metavar="DOC_ID", help="only the jobs of this document")
    listing.set_defaults(run=run_job_list)
    cancel = jobs.add_parser("cancel", parents=[common], help="cancel an active job")
    cancel.add_argument("id", metavar="ID")
    cancel.set_defaults(run=run_job_cancel)
    download = jobs.add_parser("download", parents=[common], help="copy a job's kept output to a file")
    download.add_argument("id", metavar="ID")
    download.add_argument("-o", "--output", metavar="FILE", required=True, help="file (or folder) to write")
    download.set_defaults(run=run_job_download)

    document = subparsers.add_parser("document", help="TwistedWave documents: get, list, delete")
    documents = document.add_subparsers(dest="document_command", required=True, metavar="ACTION")
    get = documents.add_parser("get", parents=[common], help="print a document")
    get.add_argument("id", metavar="ID")
    get.set_defaults(run=run_document_get)
    listing = documents.add_parser("list", parents=[common], help="list documents, newest first")
    _paging(listing)
    listing.add_argument("--include-deleted", action="store_true", help="list deleted documents too")
    listing.set_defaults(run=run_document_list)
    delete = documents.add_parser("delete", parents=[common], help="delete a document and its audio")
    delete.add_argument("id", metavar="ID")
    delete.set_defaults(run=run_document_delete)

    for parsers in (jobs, documents):
        for leaf in parsers.choices.values():
            leaf.set_defaults(on_error=reply_on_error)
