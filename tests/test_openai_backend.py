"""The openai backend against a real HTTP server on 127.0.0.1 that serves a tiny GPT-2 through the hf backend."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from bon_core.generation import get_backend
from bon_core.generation.char_tokenizer import build_char_tokenizer
from bon_core.types import GenerationConfig

CONFIG = GenerationConfig(temperature=1.0, max_new_tokens=12, seed=0)


class CompletionsServer(ThreadingHTTPServer):
    """A minimal ``/v1/completions`` server; answers 503 to the first ``fail_first`` requests."""

    def __init__(self, hf_backend):
        super().__init__(("127.0.0.1", 0), Handler)
        self.hf = hf_backend
        self.fail_first = 0
        self.requests: list[dict] = []
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output quiet
        pass

    def do_POST(self):  # noqa: N802 (http.server naming)
        server: CompletionsServer = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with server.lock:
            server.requests.append(body)
            fail = len(server.requests) <= server.fail_first
        if self.path != "/v1/completions" or fail:
            self._send(503 if fail else 404, {"error": "unavailable" if fail else "not found"})
            return
        config = GenerationConfig(
            temperature=body["temperature"],
            max_new_tokens=body["max_tokens"],
            seed=body["seed"],
            stop=tuple(body.get("stop", ())),
        )
        samples = server.hf.generate([body["prompt"]], body["n"], config)[0]
        tok = server.hf.tokenizer
        prompt_ids = tok(body["prompt"], add_special_tokens=False)["input_ids"]
        choices = []
        for s in samples:
            ids = tok(s.text, add_special_tokens=False)["input_ids"]
            logprobs = server.hf.score_continuations([prompt_ids], [ids])[0] if ids else []
            choices.append(
                {
                    "index": s.sample_index,
                    "text": s.text,
                    "finish_reason": s.finish_reason,
                    "logprobs": {"token_logprobs": logprobs},
                }
            )
        self._send(200, {"object": "text_completion", "choices": choices})

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def server():
    torch.manual_seed(0)
    tok = build_char_tokenizer()
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=2, n_head=2))
    srv = CompletionsServer(get_backend("hf", model=model, tokenizer=tok))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def client(server, **options):
    return get_backend("openai", base_url=f"http://127.0.0.1:{server.server_port}/v1", backoff=0.01, **options)


def test_n_samples_with_logprobs_in_prompt_order(server):
    server.requests.clear()
    prompts = ["Q: 1+2\n", "Q: 3*4\n", "Q: 5-1\n"]
    results = client(server, concurrency=3).generate(prompts, 4, CONFIG, sample_offset=8)
    assert len(server.requests) == 3 and {r["prompt"] for r in server.requests} == set(prompts)
    assert all(r["n"] == 4 and r["max_tokens"] == 12 and r["logprobs"] == 1 for r in server.requests)
    for samples in results:
        assert [s.sample_index for s in samples] == [8, 9, 10, 11]
        assert all(s.num_tokens >= 0 and s.finish_reason in ("stop", "length") for s in samples)
        assert all(s.sum_logprob <= 0 for s in samples if s.num_tokens)
    # the same request gives the same texts (the server seeds per prompt and offset)
    again = client(server).generate(prompts, 4, CONFIG, sample_offset=8)
    assert [[s.text for s in r] for r in again] == [[s.text for s in r] for r in results]


def test_retries_on_503_then_succeeds(server):
    server.requests.clear()
    server.fail_first = 2
    try:
        results = client(server, max_retries=3).generate(["Q: 7\n"], 2, CONFIG)
    finally:
        server.fail_first = 0
    assert len(server.requests) == 3 and len(results[0]) == 2


def test_gives_up_after_retries_with_clear_error(server):
    server.requests.clear()
    server.fail_first = 10
    try:
        with pytest.raises(RuntimeError, match="answered HTTP 503"):
            client(server, max_retries=1).generate(["Q: 7\n"], 1, CONFIG)
    finally:
        server.fail_first = 0
    assert len(server.requests) == 2


def test_refused_connection_is_a_clear_error():
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = get_backend("openai", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff=0.01)
    with pytest.raises(ConnectionError, match=rf"cannot reach the completions server at http://127.0.0.1:{port}"):
        backend.generate(["Q: 1\n"], 1, CONFIG)


def test_bad_options_fail_clearly():
    with pytest.raises(ValueError, match="base_url must start with http"):
        get_backend("openai", base_url="localhost:8000")
    backend = get_backend("openai", base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ValueError, match="beam search"):
        backend.generate(["x"], 1, GenerationConfig(num_beams=2))
