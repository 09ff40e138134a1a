"""``caruso_storage.counting.stored_once`` on a real storage service, on every database: a
value stored again is counted on the object that holds it (single and composite keys),
nothing else of that object changes, a different value makes a new object, and counts made
at the same moment are all kept."""
import threading

import pytest

from caruso_core.errors import InvalidInput
from caruso_storage.counting import stored_once

MODEL = """<?xml version="1.0"?>
<model name="counting">
  <object name="Question" table="question">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="text" type="string" length="300" required="true"/>
    <attribute name="status" type="string" length="12"/>
    <attribute name="asked" type="integer" default="0"/>
  </object>
  <object name="Reading" table="reading">
    <attribute name="meter" type="string" length="20" key="true"/>
    <attribute name="day" type="date" key="true"/>
    <attribute name="seen" type="integer" default="0"/>
  </object>
</model>
"""


@pytest.fixture
def counting(make_storage, tmp_path):
    model = tmp_path / "counting.xml"
    model.write_text(MODEL)
    return make_storage(model)


def test_a_value_stored_again_is_counted_on_its_object(counting):
    first = stored_once(counting, "Question", {"text": "Saturday?", "status": "unanswered", "asked": 1}, "text", "asked")
    counting.update("Question", first["id"], {"status": "published"})
    again = stored_once(counting, "Question", {"text": "Saturday?", "status": "unanswered", "asked": 1}, "text", "asked")
    assert (again["id"], again["status"], again["asked"]) == (first["id"], "published", 2)     # only counted
    other = stored_once(counting, "Question", {"text": "Sunday?", "asked": 1}, "text", "asked")
    assert other["id"] != first["id"] and counting.count("Question") == 2
    assert stored_once(counting, "Question", {"text": "Sunday?"}, "text")["asked"] == 1      # no count: as it is


def test_an_object_of_a_composite_key_is_counted_too(counting):
    values = {"meter": "M-1", "day": "2026-12-05", "seen": 1}
    stored_once(counting, "Reading", values, "meter", "seen")
    counted = stored_once(counting, "Reading", {**values, "day": "2026-12-06"}, "meter", "seen")
    assert (counted["day"], counted["seen"]) == ("2026-12-05", 2) and counting.count("Reading") == 1


def test_counts_from_several_threads_at_once_are_all_kept(counting):
    stored_once(counting, "Question", {"text": "Saturday?", "asked": 1}, "text", "asked")
    start = threading.Barrier(4)

    failures = []

    def ask() -> None:
        start.wait()
        for _ in range(5):
            try:
                stored_once(counting, "Question", {"text": "Saturday?", "asked": 1}, "text", "asked")
            except Exception as error:          # the test fails with it below
                failures.append(error)
    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    [question] = counting.query("Question")
    assert question["asked"] == 21                  # read again after someone else's count, none lost


def test_match_names_one_of_the_values(counting):
    with pytest.raises(InvalidInput, match="match 'question' is not one of the attributes given"):
        stored_once(counting, "Question", {"text": "Why?"}, "question")
