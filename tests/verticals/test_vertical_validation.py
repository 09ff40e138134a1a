"""Every vertical validates: its model, its scripts (schema, lint, script tests), its views
and its queues; and each one's deployment loads."""
import pytest
import tomli_w

from caruso_core.deployment import parse
from caruso_core.testing.commands import caruso as run_caruso
from caruso_core.verticals import deployment_data, installed

VERTICALS = ["utility", "bank", "service"]
# the packaged views each vertical's 360 links to, taking customers by number
SALES_VIEWS = ["caruso_frontoffice.views:sales.xml", "caruso_frontoffice.views:customer-numbers.xml"]


def caruso(*args):
    return run_caruso(*args)


@pytest.fixture(params=VERTICALS)
def vertical(request):
    return installed()[request.param]


def test_model_validates(vertical):
    result = caruso("model", "validate", str(vertical.root / "model.xml"))
    assert result.returncode == 0, result.stderr


def test_scripts_validate_lint_clean_and_pass_their_tests(vertical):
    scripts = sorted(str(p) for p in (vertical.root / "scripts").glob("*.xml"))
    tests = sorted(str(p) for p in (vertical.root / "scripts").glob("*.test.toml"))
    assert len(scripts) >= 2 and len(tests) >= 2
    for command in (["validate", *scripts], ["lint", *scripts], ["test", *tests]):
        result = caruso("script", *command)
        assert result.returncode == 0, (command[0], result.stdout, result.stderr)


def test_views_check(vertical, tmp_path):
    """The views, their create forms against the model, the desk's and portal's scripts
    against the context they give: all of the vertical's deployment."""
    result = caruso("frontoffice", "views", "check", *SALES_VIEWS, str(vertical.root / "views"))
    assert result.returncode == 0 and result.stdout.startswith("ok:"), result.stderr
    deployment = tmp_path / "caruso.toml"
    deployment.write_text(tomli_w.dumps(deployment_data([vertical.name])))
    result = caruso("frontoffice", "views", "check", "--deployment", str(deployment))
    assert result.returncode == 0 and result.stdout.startswith("ok:"), result.stderr


def test_the_deployment_loads_with_its_queues(vertical, tmp_path):
    from caruso_comm.service import CommServer

    data = deployment_data([vertical.name])
    parse(data, f"the {vertical.name} deployment")
    comm = data["services"]["comm"]["config"]
    server = CommServer(db=f"sqlite:///{tmp_path / 'comm.db'}", queues=comm["queues"])
    server.start()
    try:
        assert {q["name"] for q in server.queues()} == {q["name"] for q in comm["queues"]}
    finally:
        server.stop()
    assert data["services"]["frontoffice"]["config"]["views"] == [*SALES_VIEWS, str(vertical.root.resolve() / "views")]


def test_an_agent_signed_in_to_the_desk_can_take_every_queues_calls(vertical):
    """The skills the desk logs agents in with reach the level each queue asks for (a
    vertical shipped without them offered no call to anyone)."""
    data = deployment_data([vertical.name])
    skills = data["services"]["frontoffice"]["config"]["desk"]["skills"]
    for queue in data["services"]["comm"]["config"]["queues"]:
        short = {skill: level for skill, level in queue.get("skills", {}).items() if skills.get(skill, 0) < level}
        assert not short, f"queue {queue['name']} asks for {short}; agents have {skills}"
    scripts = data["services"]["frontoffice"]["config"]["desk"].get("scripts", {})
    assert scripts and set(scripts) <= {queue["name"] for queue in data["services"]["comm"]["config"]["queues"]}
