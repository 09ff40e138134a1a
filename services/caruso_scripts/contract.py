"""Contract suite of ``caruso.scripts/1``: what any dialog-script engine must do.

The implementation under test must publish the script :data:`SCRIPT` (shipped with
this package) and list its e-mail outbox (``mail_outbox``, ``retry_mail``). The conformance module provides the fixture ``service`` (the engine,
usually a client proxy).
"""
from __future__ import annotations

from importlib import resources

import pytest

from caruso_core import Conflict, InvalidInput, NotFound
from caruso_core.testing import ContractSuite
from caruso_scripts.client import DialogView, Option, ScriptInfo, StepView

SCRIPT = str(resources.files("caruso_scripts").joinpath("contract.xml"))
SCRIPT_ID = "contract_order"


class ScriptsContract(ContractSuite):
    interface = "caruso.scripts/1"

    def walk(self, service, answers, context=None):
        view = service.begin(SCRIPT_ID, context)
        for answer in answers:
            view = service.answer(view["session"], answer, view["seq"])
        return view

    def test_the_script_is_published(self, service):
        assert {"id": SCRIPT_ID, "version": "1", "title": "Order a meter"} in [
            {k: s[k] for k in ("id", "version", "title")} for s in service.scripts()]

    def test_a_dialog_runs_to_its_outcome(self, service):
        view = service.begin(SCRIPT_ID, {"name": "Ann"})
        assert view["status"] == "active" and view["step"]["kind"] == "info"
        assert view["step"]["text"] == "Welcome, Ann."
        view = self.walk(service, [None, "smart", 2], {"name": "Ann"})
        assert view["step"]["text"] == "2 x smart for 199.00?"
        assert view["step"]["options"] == [] and view["step"]["type"] == "yesno"
        done = service.answer(view["session"], True, view["seq"])
        assert (done["status"], done["outcome"]) == ("ended", "ordered")
        assert done["step"]["text"] == "Ordered for 199.00."
        assert done["variables"] == {"price": "199.00"}
        assert done["answers"]["meter"] == "smart" and done["answers"]["count"] == 2
        assert service.current(done["session"]) == done

    def test_views_read_as_the_sdks_types(self, service):
        assert ("1", "Order a meter") in [(s.version, s.title) for s in map(ScriptInfo.from_wire, service.scripts())
                                          if s.id == SCRIPT_ID]
        view = DialogView.from_wire(self.walk(service, [None], {"name": "Ann"}))
        assert (view.status, view.seq, view.can_go_back, view.context) == ("active", 1, True, {"name": "Ann"})
        assert (view.step.id, view.step.kind, view.step.type, view.step.options) == (
            "meter", "question", "choice", (Option("smart", "Smart meter"), Option("classic", "Classic meter")))
        assert StepView.from_wire(service.current(view.session)["step"]) == view.step

    def test_choices_are_offered_with_labels(self, service):
        view = self.walk(service, [None])
        assert view["step"]["options"] == [{"value": "smart", "label": "Smart meter"},
                                           {"value": "classic", "label": "Classic meter"}]

    @pytest.mark.parametrize("answer", ["0", "4", "two", None, ["1"]])
    def test_rejected_answers_change_nothing(self, service, answer):
        view = self.walk(service, [None, "classic"])
        with pytest.raises(InvalidInput):
            service.answer(view["session"], answer, view["seq"])
        assert service.current(view["session"])["seq"] == view["seq"]

    def test_a_retried_answer_is_applied_once(self, service):
        view = self.walk(service, [None])
        first = service.answer(view["session"], "smart", view["seq"])
        again = service.answer(view["session"], "smart", view["seq"])
        assert again["seq"] == first["seq"] and again["step"]["id"] == "count"
        with pytest.raises(Conflict):
            service.answer(view["session"], "classic", view["seq"])

    def test_back_and_finish(self, service):
        view = self.walk(service, [None, "smart"])
        back = service.back(view["session"])
        assert back["step"]["id"] == "meter" and back["seq"] > view["seq"]
        view = service.answer(back["session"], "classic", back["seq"])
        view = service.answer(view["session"], 1, view["seq"])
        assert view["variables"] == {"price": "45.00"}
        ended = service.finish(view["session"], "hung_up")
        assert (ended["status"], ended["outcome"]) == ("abandoned", "hung_up")
        with pytest.raises(Conflict):
            service.answer(view["session"], True, ended["seq"])
        with pytest.raises(Conflict):
            service.back(view["session"])                        # an ended dialog stays ended
        assert service.current(view["session"]) == ended

    def test_unknown_scripts_and_sessions_are_not_found(self, service):
        with pytest.raises(NotFound):
            service.begin("no_such_script")
        with pytest.raises(NotFound):
            service.current("0" * 32)

    def test_the_mail_outbox_is_counted_and_bounded(self, service):
        """Operators (``caruso script outbox``, the admin Outbox page) read and retry it."""
        listed = service.mail_outbox(5)
        assert {key: type(listed[key]) for key in ("queued", "sent", "failed", "failing")} == {
            "queued": int, "sent": int, "failed": int, "failing": list}
        assert len(listed["failing"]) <= 5
        for limit in (-1, 1001, "5", True):
            with pytest.raises(InvalidInput):
                service.mail_outbox(limit)
        with pytest.raises(NotFound):
            service.retry_mail(2 ** 31 - 1)
