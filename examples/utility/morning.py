"""A morning at the utility's contact centre, compressed: virtual agents and customers
working through the real services of a running solution.

Callers of demo customers arrive in the queues (outages, billing, moving, sales);
virtual agents take the offers, run the queue's dialog script with the caller through
the script engine, and complete with the dialog's outcome; web-chat customers write
through the chat channel's HTTP interface and agents answer them. Everything goes
through the manager, exactly as a front office would.

Contract of :class:`Morning`: ``run()`` returns when every call and chat has been
handled or ``timeout`` passed; ``tally`` counts what happened, ``failures`` holds every
call that failed (a demo that loses a call or a dialog says so).
"""
from __future__ import annotations

import datetime as dt
import random
import smtplib
import threading
import time
from collections import Counter
from email.message import EmailMessage
from typing import Any, Iterable

import httpx
from aiosmtpd.controller import Controller

from caruso_core import CarusoError, Conflict, NotFound
from caruso_core.client import Client
from caruso_core.ports import free_port

SCRIPTS = {"outages": "outage_report", "billing": "meter_reading", "moving": "moving_house", "sales": None}
MIX = [("outages", 2), ("billing", 4), ("moving", 3), ("sales", 1)]
SKILLS = {"outages": 1, "billing": 2, "moving": 1, "sales": 1}
AGENTS = 6
POLL = 0.02
TALK = (0.1, 0.4)   # seconds a virtual agent stays on the line after the dialog


class Morning:
    """Virtual traffic for a running utility solution; see the module's contract."""

    def __init__(self, client: Client, customers: int, calls: int, chats: int, mails: int = 0,
                 seed: int = 7, timeout: float = 120.0) -> None:
        self.client = client
        self.customers = customers
        self.calls = calls
        self.chats = chats
        self.mails = mails
        self.rng = random.Random(seed)
        self.timeout = timeout
        self.tally: Counter[str] = Counter()
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._done = threading.Event()

    def run(self, halfway: Any = None) -> None:
        """Play the morning; ``halfway()`` is called once half of the calls are answered."""
        comm = self.client.get("caruso.comm/1")
        for number in range(1, AGENTS + 1):
            comm.login(f"agent{number}", SKILLS, {"voice": 1, "webchat": 2, "email": 1})
        workers = [threading.Thread(target=self._agent, args=(f"agent{n}",), daemon=True)
                   for n in range(1, AGENTS + 1)]
        for worker in workers:
            worker.start()
        channels = comm.channels()
        chatters = [threading.Thread(target=self._chat, args=(channels["webchat"]["url"], n), daemon=True)
                    for n in range(self.chats)]
        if self.mails:
            chatters.append(threading.Thread(target=self._write_mails, args=(channels["email"],), daemon=True))
        for chatter in chatters:
            chatter.start()
        deadline = time.monotonic() + self.timeout
        half_called = False
        for number in range(self.calls):
            queue = self.rng.choices([q for q, _ in MIX], weights=[w for _, w in MIX])[0]
            customer = self.rng.randint(1, self.customers)
            comm.arrive(queue, "voice", str(customer), f"caller-{customer}", "0800-UTILITY")
            self._count("offered")
            time.sleep(self.rng.expovariate(1 / 0.12))
            if halfway is not None and not half_called and self.tally["answered"] >= self.calls // 2:
                half_called = True
                halfway()
        while (self.tally["handled"] < self.calls or self.tally["chats closed"] < self.chats
               or self.tally["mails answered"] < self.mails):
            if time.monotonic() > deadline:
                self.failures.append(f"timed out: {self.calls - self.tally['handled']} call(s) not handled")
                break
            time.sleep(0.1)
        if halfway is not None and not half_called:
            halfway()
        self._done.set()
        for worker in workers + chatters:
            worker.join(10)
        for number in range(1, AGENTS + 1):
            comm.logout(f"agent{number}")

    def _count(self, what: str, amount: int = 1) -> None:
        with self._lock:
            self.tally[what] += amount

    def _agent(self, name: str) -> None:
        comm = self.client.get("caruso.comm/1")
        scripts = self.client.get("caruso.scripts/1")
        while not self._done.is_set():
            for interaction_id in comm.agent(name)["interactions"]:
                try:
                    self._work(comm, scripts, name, interaction_id)
                except NotFound:
                    continue                      # ended meanwhile (a chat closed by its customer)
                except Exception as error:        # a virtual agent never stops; the demo reports it
                    self.failures.append(f"{name} on {interaction_id}: {type(error).__name__}: {error}")
            time.sleep(POLL)

    def _work(self, comm: Any, scripts: Any, name: str, interaction_id: str) -> None:
        interaction = comm.interaction(interaction_id)
        if interaction["state"] != "offered" or interaction["agent"] not in (None, name):
            return
        try:
            comm.accept(name, interaction_id)
        except Conflict:
            return                                # the offer went elsewhere meanwhile
        if interaction["channel"] == "email":
            comm.send(name, interaction_id, "Thank you for your e-mail; your next bill is due on the 1st.")
            comm.complete(name, interaction_id, "answered")
            comm.end_wrap_up(name, interaction_id)
            self._count("mails answered")
            return
        if interaction["channel"] == "webchat":
            comm.send(name, interaction_id, "Hello, this is the utility. How can I help?")
            self._count("chats answered")
            threading.Thread(target=self._close_chat_later, args=(name, interaction_id), daemon=True).start()
            return
        self._count("answered")
        outcome = self._dialog(scripts, interaction)
        time.sleep(self.rng.uniform(*TALK))
        comm.complete(name, interaction_id, outcome)
        comm.end_wrap_up(name, interaction_id)
        self._count("handled")

    def _dialog(self, scripts: Any, interaction: dict[str, Any]) -> str:
        """Run the queue's script with the caller; the dialog's outcome is the disposition."""
        script = SCRIPTS.get(interaction["queue"])
        if script is None:
            return "information given"
        try:
            view = scripts.begin(script, {"customer_id": int(interaction["customer"])})
            while view["status"] == "active":
                view = self._answer(scripts, view)
        except CarusoError as error:
            self.failures.append(f"{script} for customer {interaction['customer']}: {error}")
            return "failed"
        self._count(f"dialog {script}: {view['outcome']}")
        return str(view["outcome"])

    def _answer(self, scripts: Any, view: dict[str, Any]) -> dict[str, Any]:
        """Answer the current step as a cooperative caller would; the engine checks every answer."""
        step = view["step"]
        if step["kind"] != "question":
            return scripts.answer(view["session"], None, view["seq"])
        for answer in _candidates(step):
            try:
                return scripts.answer(view["session"], answer, view["seq"])
            except CarusoError as error:
                refused = error
        self._count("dialogs handed over")
        return scripts.finish(view["session"], f"agent needed at {step['id']}: {refused}")

    def _chat(self, url: str, number: int) -> None:
        time.sleep(self.rng.uniform(0, 2))
        with httpx.Client(base_url=url, timeout=30) as web:
            chat = web.post("/chats", json={"text": f"Hello, I am visitor {number}: when is my next bill due?"}).json()
            web.headers["Authorization"] = f"Bearer {chat['key']}"
            self._count("chats started")
            seen = 0
            while not self._done.is_set():
                read = web.get(f"/chats/{chat['id']}/messages", params={"after": seen}).json()
                seen += len(read["messages"])
                if read["state"] == "ended":
                    self._count("chats closed")
                    return
                time.sleep(0.1)

    def _write_mails(self, channel: dict[str, Any]) -> None:
        storage = self.client.get("caruso.storage/1")
        for number in range(self.mails):
            time.sleep(self.rng.uniform(0.5, 2.0))
            customer = storage.get("Customer", self.rng.randint(1, self.customers))
            message = EmailMessage()
            message["From"], message["To"] = customer["email"], channel["address"]
            message["Subject"] = f"Question about my bill ({customer['customer_no']})"
            message.set_content("Hello, when is my next bill due? Kind regards, " + customer["name"])
            host, port = channel["smtp"].rsplit(":", 1)
            with smtplib.SMTP(host, int(port), timeout=30) as smtp:
                smtp.send_message(message)

    def _close_chat_later(self, agent: str, interaction_id: str) -> None:
        comm = self.client.get("caruso.comm/1")
        time.sleep(0.5)
        comm.send(agent, interaction_id, "Your next bill is due on the first of the month.")
        comm.complete(agent, interaction_id, "answered")
        comm.end_wrap_up(agent, interaction_id)


def _candidates(step: dict[str, Any]) -> list[Any]:
    """Plausible answers for a question, most likely first."""
    soon = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    kind = step.get("type")
    if kind == "choice":
        return [option["value"] for option in step.get("options", [])]
    if kind == "yesno":
        return [True, False]
    if kind == "date":
        return [soon, dt.date.today().isoformat(), (dt.date.today() + dt.timedelta(days=30)).isoformat()]
    if kind == "number":
        return [1234, 3, 99999, 25000, 1]
    if kind == "amount":
        return ["25.00", "100.00", "5.00"]
    return ["Reported by phone during the demo morning."]


class MailSink:
    """An SMTP server on 127.0.0.1 that keeps what it receives: the customers' mailboxes; on
    none of the ports in ``avoid`` (given to servers that do not listen yet)."""

    def __init__(self, avoid: Iterable[int | None] = ()) -> None:
        self.messages: list[bytes] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=free_port(avoid=avoid))

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"

    @property
    def port(self) -> int:
        return self._controller.port

    def __enter__(self) -> "MailSink":
        self._controller.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._controller.stop()
