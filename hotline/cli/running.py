"""Running the hotline: `dev`, `worker`, and the local tools that talk to it."""

from __future__ import annotations

import errno
import os
import socket
import sys
import threading

import click

from hotline.cli.common import build_app, closing_database, command_runtime
from hotline.plumbing import jobs


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def dev(host: str, port: int) -> None:
    """Run web + worker with SQLite, the local transport and a demo roster."""
    # The port first: taken, the command says so in one line before anything starts or is written.
    listener = _listen(host, port)
    from werkzeug.serving import make_server

    from hotline import worker
    from hotline.plumbing import migrations
    from hotline.plumbing.runtime import runtime
    from hotline.services import roster

    os.environ["HOTLINE_ENV"] = "development"
    os.environ.setdefault("HOTLINE_TRANSPORT", "local")
    os.environ.setdefault("HOTLINE_PUBLIC_URL", f"http://{host}:{port}")
    app = build_app(development=True)
    rt = runtime(app)
    migrations.upgrade(rt.db)
    with rt.db.unit_of_work() as session:
        added = roster.seed_demo(session, rt)
        session.commit()
    if added:
        click.echo(f"Added a demo roster of {added} (fictional numbers, all on duty).")
    server = make_server(host, port, app, threaded=True, fd=listener.fileno())
    listener.close()  # the server holds its own copy of the socket
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever,
        args=(rt,),
        kwargs={"poll_seconds": rt.config["HOTLINE_WORKER_POLL_SECONDS"], "stop_event": stop},
        daemon=True,
        name="hotline-worker",
    )
    thread.start()
    click.echo(f"Hotline listening on http://{host}:{port} (transport: {rt.config['HOTLINE_TRANSPORT']}).")
    click.echo("Talk to it as a participant in another terminal:  .venv/bin/hotline simulate")
    click.echo("Call it (keypad and speech) in another terminal:  .venv/bin/hotline call")
    click.echo("See what it would have sent:                      .venv/bin/hotline outbox --dev")
    click.echo(f"Phone simulator (participant and officers):      http://{host}:{port}/simulator")
    click.echo(f"Sergeant's board (after `hotline users add`):    http://{host}:{port}/dashboard/")
    try:
        server.serve_forever()  # until Ctrl-C
    finally:
        stop.set()


def _listen(host: str, port: int) -> socket.socket:
    """Return a socket listening on host:port, or stop with one line saying why not."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    listener = socket.socket(family, kind, proto)
    # As the development server does: a port left in TIME_WAIT by the last run is free, a listened one not.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
        listener.listen(128)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            other = 5001 if port == 5000 else 5000
            raise click.ClickException(
                f"port {port} on {host} is in use (another `make run`?): stop it, or choose another port, "
                f"e.g. make run PORT={other} (hotline dev --port {other})"
            ) from None
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return listener


@click.command("worker")
@click.option("--once", is_flag=True, help="One pass over due messages and deadlines, then exit.")
def worker_command(once: bool) -> None:
    """Send due outbox rows and fire due deadlines."""
    from hotline import worker

    with command_runtime() as rt:
        if once:
            counts = jobs.run_once(rt)
            click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()) or "nothing due")
            return
        worker.run_forever(rt, poll_seconds=rt.config["HOTLINE_WORKER_POLL_SECONDS"])


@click.command()
@click.option("--limit", default=20, show_default=True, help="How many of the newest messages.")
@click.option("--dev", is_flag=True, help="The development hotline's (`hotline dev`), with the .env file.")
def outbox(limit: int, dev: bool) -> None:
    """Show what the hotline sent or will send (texts are shown with the local transport only)."""
    from hotline.services import simulator

    with command_runtime(development=dev) as rt, rt.db.reading() as session:
        show_text = rt.config["HOTLINE_TRANSPORT"] == "local"
        lines = simulator.outbox_lines(session, rt, limit=limit, show_text=show_text)
    for line in lines or ["The outbox is empty."]:
        click.echo(line)


@click.command()
@click.option("--from", "sender", default="+18165550199", show_default=True, help="Your pretend number.")
@click.option("--url", default=None, help="A running hotline (e.g. http://127.0.0.1:5000); else in-process.")
def simulate(sender: str, url: str | None) -> None:
    """Chat with the hotline as a participant, in this terminal."""
    from hotline.services import simulator

    app = build_app(development=True)
    with closing_database(app):
        chat = simulator.Phone(app, sender, base_url=url)
        click.echo(f"Texting the hotline as {sender}. Type a message; Ctrl-D to quit.")
        while True:
            try:
                text = input("you> ")
            except (EOFError, KeyboardInterrupt):
                click.echo()
                return
            try:
                replies = chat.send(text)
            except simulator.SimulatorError as error:
                click.echo(f"(!) {error}", err=True)
                continue
            for reply in replies:
                click.echo(f"hotline> {reply}")


@click.command("call")
@click.option("--from", "caller", default="+18165550199", show_default=True, help="Your pretend number.")
@click.option("--url", default=None, help="A running hotline (e.g. http://127.0.0.1:5000); else in-process.")
def call_command(caller: str, url: str | None) -> None:
    """Call the hotline in this terminal: press keys, speak, and hear what a caller would hear."""
    from hotline.services import call_simulator, simulator

    app = build_app(development=True)
    with closing_database(app):
        call = call_simulator.new_call(app, caller, base_url=url)
        try:
            call_simulator.converse(call, input, click.echo, show_input=not sys.stdin.isatty())
        except simulator.SimulatorError as error:
            raise click.ClickException(str(error)) from None
