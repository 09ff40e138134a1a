"""Extending a view an earlier file defines (``<extend view="ID">``): a form or detail view
has fields restated, a detail view gains sections, a list gains filters and columns;
whatever does not fit is refused with its file and line."""
import pytest

from caruso_core.errors import ConfigError
from caruso_frontoffice.views.catalog import load
from frontoffice_support import PACKAGED

RETENTION = """<views>
  <extend view="customer">
    <section label="Retention">
      <field name="churn_risk" label="Churn risk" widget="percent"/>
    </section>
  </extend>
  <extend view="customers">
    <filter field="rfm_segment" label="Segment"/>
    <column field="churn_risk" widget="percent"/>
  </extend>
</views>"""


def test_a_later_file_adds_sections_filters_and_columns_and_keeps_the_rest(tmp_path):
    layer = tmp_path / "retention.xml"
    layer.write_text(RETENTION)
    before, after = load([PACKAGED]), load([PACKAGED, layer])
    detail, listing = after.views["customer"], after.views["customers"]
    assert detail.sections[:-1] == before.views["customer"].sections
    assert detail.sections[-1].label == "Retention" and detail.related == before.views["customer"].related == ()
    assert [(f.name, f.widget, f.source.line) for f in detail.sections[-1].fields] == [("churn_risk", "percent", 4)]
    assert listing.filters[:-1] == before.views["customers"].filters and listing.filters[-1].name == "rfm_segment"
    assert [c.name for c in listing.columns] == [*(c.name for c in before.views["customers"].columns), "churn_risk"]
    assert detail.source == before.views["customer"].source      # still the view its file defines
    assert {k: v for k, v in after.views.items() if k not in ("customer", "customers")} == \
        {k: v for k, v in before.views.items() if k not in ("customer", "customers")}


def test_a_later_file_adds_related_objects_to_a_detail_view(tmp_path):
    layer = tmp_path / "layer.xml"
    layer.write_text("""<views>
  <extend view="customer"><related object="Task" field="customer_id" label="Tasks" list="tasks"/></extend>
</views>""")
    second = tmp_path / "second.xml"
    second.write_text("""<views>
  <extend view="customer"><section label="More"><field name="city"/></section>
    <related object="Contact" field="customer_id" label="People"/></extend>
</views>""")
    detail = load([PACKAGED, layer, second]).views["customer"]
    assert [(r.object, r.label, r.list) for r in detail.related] == [("Task", "Tasks", "tasks"),
                                                                     ("Contact", "People", None)]
    assert detail.sections[-1].label == "More"


def test_a_later_file_restates_fields_of_forms_and_detail_views_by_name(tmp_path):
    """A vertical whose customers have numbers makes the base forms take them, without
    copying the forms."""
    layer = tmp_path / "layer.xml"
    layer.write_text("""<views>
  <extend view="task-edit">
    <field name="customer_id" by="customer_no" label="Customer number"/>
  </extend>
  <extend view="customer"><field name="email" label="E-mail address"/>
    <section label="More"><field name="city"/></section></extend>
</views>""")
    before, after = load([PACKAGED]), load([PACKAGED, layer])
    form, earlier = after.views["task-edit"], before.views["task-edit"]
    [restated] = [f for f in form.fields if f.name == "customer_id"]
    [original] = [f for f in earlier.fields if f.name == "customer_id"]
    assert (restated.by, restated.label, restated.source.line, original.by) == (
        "customer_no", "Customer number", 3, None)
    assert [f.name for f in form.fields] == [f.name for f in earlier.fields]          # in its place
    assert [f for f in form.fields if f.name != "customer_id"] == [f for f in earlier.fields if f.name != "customer_id"]
    detail = after.views["customer"]
    [email] = [f for s in detail.sections for f in s.fields if f.name == "email"]
    assert email.label == "E-mail address" and detail.sections[-1].label == "More"


def test_a_view_redefined_later_in_the_same_file_is_extended_as_redefined(tmp_path):
    layer = tmp_path / "layer.xml"
    layer.write_text("""<views>
  <extend view="customers"><filter field="city"/></extend>
  <list id="customers" object="Customer"><column field="name"/></list>
</views>""")
    listing = load([PACKAGED, layer]).views["customers"]
    assert [c.name for c in listing.columns] == ["name"] and [f.name for f in listing.filters] == ["city"]


@pytest.mark.parametrize("text, message", [
    ('<views><extend view="nowhere"><filter field="city"/></extend></views>',
     r"layer.xml:1: extend view 'nowhere': no earlier view file defines it"),
    ('<views>\n<extend view="customers"><section label="X"><field name="city"/></section></extend></views>',
     r"layer.xml:2: extend view 'customers': a list view takes no sections or related objects"),
    ('<views>\n<extend view="customers"><related object="Task" field="customer_id" label="T"/></extend></views>',
     r"layer.xml:2: extend view 'customers': a list view takes no sections or related objects"),
    ('<views>\n<extend view="customer"><related object="Task" field="customer_id" label="T" list="nowhere"/>'
     '</extend></views>', r"layer.xml:2: detail 'customer' Task names view 'nowhere', which no view file defines"),
    ('<views>\n<extend view="customer"><filter field="city"/></extend></views>',
     r"layer.xml:2: extend view 'customer': a detail view takes no filters or columns"),
    ('<views>\n<extend view="customer-360"><column field="city"/></extend></views>',
     r"layer.xml:2: extend view 'customer-360': a customer360 view takes no filters or columns"),
    ('<views><extend view="customers"><filter field="city"/></extend>\n'
     '<extend view="customers"><filter field="name"/></extend></views>', r"layer.xml:2: extend id 'customers' is defined twice"),
    ('<views><extend view="customers"><section label="X"><field name="city"/></section>'
     '<filter field="city"/></extend></views>', r"layer.xml:1: "),
    ('<views>\n<extend view="task-edit">\n<field name="colour" label="Colour"/></extend></views>',
     r"layer.xml:3: extend view 'task-edit': the view shows no field 'colour' \(it shows: "),
    ('<views>\n<extend view="customers"><field name="city" label="Town"/></extend></views>',
     r"layer.xml:2: extend view 'customers': a list view has no fields to restate"),
    ('<views>\n<extend view="task-edit"><field name="subject"/><section label="X"><field name="city"/></section>'
     '</extend></views>', r"layer.xml:2: extend view 'task-edit': a form view takes no sections or related objects"),
    ('<views>\n<extend view="customers"><column field="city" open="nowhere"/></extend></views>',
     r"layer.xml:2: list 'customers' column 'city' open names view 'nowhere', which no view file defines"),
])
def test_extensions_that_do_not_fit_are_refused_with_file_and_line(tmp_path, text, message):
    layer = tmp_path / "layer.xml"
    layer.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load([PACKAGED, layer])
