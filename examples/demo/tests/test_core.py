import pytest

from demo import core


def test_greeting_defaults_to_world():
    assert core.greeting() == {"message": "Hello, world!", "service": "demo"}


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Ada", "Hello, Ada!"),
        ("  Grace Hopper ", "Hello, Grace Hopper!"),
        ("<script>", "Hello, world!"),
        ("x" * 65, "Hello, world!"),
    ],
)
def test_greeting_uses_only_plain_names(name, expected):
    assert core.greeting(name)["message"] == expected


def test_version_comes_from_app_version():
    assert core.version({"APP_VERSION": "1.4.2"}) == "1.4.2"
    assert core.version({"APP_VERSION": "  "}) == "dev"
    assert core.version({}) == "dev"


def test_port_defaults_to_8080_and_reads_port():
    assert core.port({}) == 8080
    assert core.port({"PORT": "9000"}) == 9000


@pytest.mark.parametrize("bad", ["http", "-1", "0", "70000"])
def test_port_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="PORT must be a number"):
        core.port({"PORT": bad})


def test_route_serves_health_and_version():
    assert core.route("GET", "/healthz", {}) == core.Response(200, {"status": "ok"})
    assert core.route("GET", "/version", {"APP_VERSION": "2.0.0"}).body == {"version": "2.0.0"}
    assert core.route("GET", "/?name=Linus", {}).body["message"] == "Hello, Linus!"


def test_route_rejects_unknown_paths_and_methods():
    assert core.route("GET", "/nope", {}).status == 404
    assert core.route("DELETE", "/", {}).status == 405
