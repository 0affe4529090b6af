"""The AWS endpoints the measured functions call, in a process of their own so that their CPU time is
not the measured process's: Lambda `Invoke` (the join server answers `RequestResponse` calls; `Event`
calls are kept and handed back on `GET /events`) and IoT `Publish` (counted). boto3 in the measured
process therefore builds, signs, sends and parses every request as it does on AWS.

    python -m bench.other_functions PORT   (DynamoDB from AWS_ENDPOINT_URL_DYNAMODB)
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from functions.appserver.join_server import handle_join
from functions.shared.interface import JoinReq

_INVOKE = "/2015-03-31/functions/"
_lock = threading.Lock()
_events: list[dict[str, Any]] = []
_published: dict[str, int] = {"count": 0}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with _lock:
            body = json.dumps({"events": _events, "published": _published["count"]}).encode()
            _events.clear()
            _published["count"] = 0
        self._reply(200, body)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path.startswith(_INVOKE):
            if self.headers.get("X-Amz-Invocation-Type") == "Event":
                with _lock:
                    _events.append({"function": unquote(url.path[len(_INVOKE) :].split("/")[0]),
                                    "payload": json.loads(body)})  # fmt: skip
                self._reply(202)
                return
            answer = handle_join(JoinReq.from_dict(json.loads(body))).to_dict()
            self._reply(200, json.dumps(answer).encode())
        elif url.path.startswith("/topics/"):
            with _lock:
                _published["count"] += 1
            self._reply(200, b"{}")
        else:
            self._reply(404, b"{}")


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), _Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
