"""The README as a new user reads it: its first screen, its tour and its lists match the program."""

from __future__ import annotations

import re

import click
import pytest
from sqlmodel import select

from hotline import cli
from hotline.services import roster
from models import Dispatch
from tests.support import REPO

README = (REPO / "README.md").read_text()


def section(title: str) -> str:
    """Return a `## ` section of the README, without its heading."""
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL)
    assert found, f"README has a section {title!r}"
    return found.group(1)


def first_screen() -> str:
    """The README down to the end of its tour: what a new user reads before anything else."""
    return README[: README.index("## The demo roster")]


def command_paths(group: click.Group, prefix: str = "hotline") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths += command_paths(command, f"{prefix} {name}")
        else:
            paths.append(f"{prefix} {name}")
    return paths


def test_the_first_screen_says_what_it_is_and_shows_the_two_commands_and_the_pictures():
    top = first_screen()
    assert top.startswith("# Safe Passage hotline\n")
    assert "make run" in top and "make test" in top
    for picture in ("docs/board.png", "docs/simulator.png"):
        assert picture in top and (REPO / picture).exists(), picture
    assert top.index("docs/board.png") < top.index("## Two commands"), "the pictures come first"


def test_the_tour_has_five_steps_text_accept_board_close_report():
    steps = re.findall(r"^(\d)\. \*\*(.+?)\*\*", section("A five-minute tour"), re.MULTILINE)
    assert [int(n) for n, _ in steps] == [1, 2, 3, 4, 5]
    words = " ".join(title.lower() for _, title in steps)
    for word in ("text", "accept", "board", "close", "report"):
        assert word in words, word


def test_every_command_is_in_the_commands_list():
    listed = section("Commands")
    paths = command_paths(cli.main)
    assert "hotline officers shift" in paths
    missing = []
    for path in paths:
        *group, last = path.split()
        # `hotline officers on|off` names two commands at once.
        if path not in listed and not re.search(rf"{' '.join(group)} [\w|-]*\b{last}\b", listed):
            missing.append(path)
    assert missing == []


def test_the_demo_roster_table_is_the_demo_roster():
    rows = re.findall(
        r"^\| (.+?) \| (\+1\d{10}) \|", section("The demo roster and the two kinds of staff"), re.M
    )
    assert rows == [(name, phone) for name, phone, _ in roster.DEMO_ROSTER]


@pytest.fixture
def demo(rt):
    with rt.db.unit_of_work() as session:
        roster.seed_demo(session, rt)
        session.commit()
    return rt


def test_the_tour_texts_send_a_request_and_the_first_reply_is_quoted_as_sent(twilio, demo):
    tour = section("A five-minute tour")
    line = re.search(r"text,\s+one at a time: (.+?)\n\s+\(", tour, re.DOTALL).group(1)
    texts = re.findall(r"`([^`]+)`", line)
    assert texts[0] == "hi" and len(texts) == 10
    replies = [twilio.text(text, sender="+18165550199") for text in texts]

    welcome = re.search(r"The first reply is the welcome:\n\n\s+```\n(.+?)\n\s+```", tour, re.DOTALL).group(1)
    shown = [line.strip() for line in welcome.splitlines()]
    assert shown == replies[0][0].splitlines(), "the README shows the first reply as it is sent"
    assert replies[-1][-1].startswith("Request sent."), replies[-1]
    with demo.db.reading() as session:
        assert len(session.exec(select(Dispatch)).all()) == 1


def test_the_sorry_loop_is_explained_with_the_replies_it_really_gets(twilio, demo):
    """A new `hi` in the middle of the questions: the troubleshooting quotes what comes back."""
    replies = [" ".join(twilio.text(text)) for text in ("hi", "2", "hi", "hi", "hi", "hi")]
    (loop,) = [item for item in section("Troubleshooting").split("\n- ") if "again and again" in item]
    quoted = re.findall(r'"(Sorry, [^"]+?)"', loop)
    assert len(quoted) >= 2
    for text in quoted:
        text = " ".join(text.split())
        start = text.split("...")[0]
        assert any(" ".join(reply.split()).startswith(start) for reply in replies[2:]), text
    assert replies[-1] == replies[-2], "the same answer again and again"
    assert "MENU" in replies[-1]
    restarted = twilio.text("MENU")
    assert restarted[0] == twilio.text("MENU")[0] and "Reply 1 how it works" in restarted[0]


def test_deploying_makes_the_first_admin_once_the_database_is_there():
    deploy = (REPO / "docs/deploy.md").read_text()
    vm = deploy[deploy.index("## A Linux VM") : deploy.index("## A PaaS")]
    made = vm.index("run users add --username adams --role admin")
    assert vm.index("run db upgrade") < made < vm.index("systemctl enable"), "before the board is served"
    for way, end in (("## A PaaS", "## Docker"), ("## Docker", "## Watching it")):
        steps = deploy[deploy.index(way) : deploy.index(end)]
        assert "hotline users add --username adams --role admin" in steps, way
        assert steps.index("db upgrade") < steps.index("users add"), way
