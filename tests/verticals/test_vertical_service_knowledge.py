"""The service company's knowledge base end to end: a self-service question nobody answered
becomes a task for the knowledge team, and its answer joins the FAQ (real storage and script
services, the vertical's model and scripts)."""
from pathlib import Path

import caruso_service

ROOT = Path(caruso_service.__file__).parent


def test_an_unanswered_self_service_question_becomes_a_task_and_its_answer_joins_the_faq(
        caruso_host, caruso_client, tmp_path):
    caruso_host("storage", config={"model": str(ROOT / "model.xml"), "db": f"sqlite:///{tmp_path / 'crm.db'}",
                                   "due_every": 0})
    caruso_host("scripts", config={"scripts": [str(ROOT / "scripts")], "db": f"sqlite:///{tmp_path / 's.db'}"})
    storage, scripts = caruso_client.get("caruso.storage/1"), caruso_client.get("caruso.scripts/1")
    question = "Do you service heat pumps too?"

    view = scripts.begin("faq")
    for answer in ("other", question):
        view = scripts.answer(view["session"], answer, view["seq"])
    assert view["outcome"] == "question_recorded", view

    [article] = storage.query("KnowledgeArticle", {"field": "question", "op": "eq", "value": question})
    assert article["status"] == "unanswered"
    [task] = storage.query("Task", {"field": "assignee", "op": "eq", "value": "knowledge-team"})
    assert question in task["subject"] and f"article {article['id']}" in task["subject"]

    storage.update("KnowledgeArticle", article["id"], {"answer": "Yes: air and ground source heat pumps."},
                   version=article["_version"])
    storage.update("Task", task["id"], {"done": True})
    faq = storage.query("KnowledgeArticle", {"field": "status", "op": "eq", "value": "published"})
    assert [(a["question"], a["answer"]) for a in faq] == [(question, "Yes: air and ground source heat pumps.")]
