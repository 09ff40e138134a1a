"""The reference of the front-office benchmark (not a benchmark itself): a bare ASGI
app answering every request with the HTML of the file named by ``CARUSO_BENCH_HTML``."""
import os
from pathlib import Path

BODY = Path(os.environ["CARUSO_BENCH_HTML"]).read_bytes()
HEADERS = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
