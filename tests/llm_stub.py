"""A real HTTP server on 127.0.0.1 that speaks OpenAI's chat-completions protocol (JSON replies
and SSE streams), its replies scripted by each test: the one seam mocked in LLM mode (the real
local model runs in tests/test_local_llm.py when the `local` extra is installed)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[list[dict[str, Any]]], str]


class StubServer:
    """POST /v1/chat/completions: `reply(messages)` as one JSON completion, or streamed as
    `chat.completion.chunk` server-sent events ending with `data: [DONE]`."""

    def __init__(self) -> None:
        self.reply: Reply = lambda messages: "NO_ANSWER"
        self.delay = 0.0  # seconds before a reply: a slow model, to see what comes first
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                time.sleep(stub.delay)
                text = stub.reply(body["messages"])
                if body.get("stream"):
                    self._stream(body["model"], text)
                else:
                    self._json(body["model"], text)

            def _json(self, model: str, text: str) -> None:
                payload = json.dumps(
                    {
                        "id": "cmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": text},
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, model: str, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                pieces = [{"role": "assistant", "content": ""}]
                pieces += [{"content": p} for p in re.findall(r"\S+\s*|\s+", text)]
                for i, delta in enumerate([*pieces, {}]):
                    chunk = {
                        "id": "cmpl-1",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "delta": delta,
                                "finish_reason": "stop" if i == len(pieces) else None,
                            }
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
