import json
import threading
import urllib.error
import urllib.request

import pytest

from demo.server import make_server


@pytest.fixture
def base_url():
    server = make_server({"APP_VERSION": "9.9.9"}, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers["Content-Type"], json.loads(response.read())


def test_server_answers_over_http(base_url):
    assert get(base_url + "/") == (200, "application/json", {"message": "Hello, world!", "service": "demo"})
    assert get(base_url + "/healthz")[0] == 200
    assert get(base_url + "/version")[2] == {"version": "9.9.9"}


def test_server_returns_404_as_json(base_url):
    with pytest.raises(urllib.error.HTTPError) as caught:
        get(base_url + "/missing")
    assert caught.value.code == 404
    assert json.loads(caught.value.read()) == {"error": "no such path: /missing"}
