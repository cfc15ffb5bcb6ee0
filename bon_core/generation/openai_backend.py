"""``openai``: any OpenAI-compatible ``/v1/completions`` server (vLLM, SGLang, TGI, llama.cpp, OpenAI) by base URL.

One request per prompt asks for its ``n`` samples; requests run in a thread pool of ``concurrency`` workers sharing one
``httpx.Client``. 429 and 5xx answers, timeouts and refused connections are retried (tenacity) with exponential backoff
(``Retry-After`` is honoured, capped at ``max_backoff``); when the retries are spent a ``ConnectionError`` (network) or
``RuntimeError`` (HTTP status) names the URL and the cause. Reproducibility is the server's: we send a ``seed`` derived
from ``(seed, prompt, sample_offset)``, which vLLM and SGLang honour.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from bon_core.generation.base import GeneratedText, check_request, sample_seed
from bon_core.types import GenerationConfig

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class _Retryable(Exception):
    """An attempt worth repeating: a network failure (``response`` None, the cause chained) or a retryable status."""

    def __init__(self, response: httpx.Response | None) -> None:
        super().__init__(f"HTTP {response.status_code}" if response is not None else "network error")
        self.response = response


class OpenAIBackend:
    """Client of an OpenAI-compatible completions endpoint, e.g. ``base_url="http://127.0.0.1:8000/v1"``."""

    def __init__(
        self,
        base_url: str,
        model: str = "default",
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        concurrency: int = 8,
        logprobs: bool = True,
    ):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if concurrency < 1 or max_retries < 0:
            raise ValueError(f"need concurrency >= 1 and max_retries >= 0, got {concurrency}, {max_retries}")
        self.url = base_url.rstrip("/") + "/completions"
        self.model = model
        self.max_retries, self.backoff, self.max_backoff = max_retries, backoff, max_backoff
        self.concurrency = concurrency
        self.logprobs = logprobs
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=timeout, headers=headers)

    def generate(
        self, prompts: Sequence[str], n: int, config: GenerationConfig, sample_offset: int = 0
    ) -> list[list[GeneratedText]]:
        """``n`` samples per prompt, in the order of ``prompts``; requests run ``concurrency`` at a time."""
        check_request(prompts, n)
        if config.num_beams > 1:
            raise ValueError("the openai backend does not offer beam search (num_beams must be 1)")
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda p: self._one_prompt(p, n, config, sample_offset), prompts))

    def _one_prompt(self, prompt: str, n: int, config: GenerationConfig, offset: int) -> list[GeneratedText]:
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "n": n,
            "max_tokens": config.max_new_tokens,
            "temperature": config.temperature if config.do_sample else 0.0,
            "top_p": config.top_p,
            "seed": sample_seed(config.seed, prompt, offset) & 0x7FFFFFFF,
        }
        if config.top_k > 0:
            body["top_k"] = config.top_k  # a vLLM / SGLang extension; OpenAI ignores unknown sampling fields
        if config.stop:
            body["stop"] = list(config.stop)
        if self.logprobs:
            body["logprobs"] = 1
        choices = sorted(self._post(body).get("choices", []), key=lambda c: c.get("index", 0))
        if len(choices) != n:
            raise RuntimeError(f"{self.url} returned {len(choices)} choices for n={n}")
        return [self._parse_choice(offset + j, choice) for j, choice in enumerate(choices)]

    @staticmethod
    def _parse_choice(sample_index: int, choice: dict[str, Any]) -> GeneratedText:
        logprobs = (choice.get("logprobs") or {}).get("token_logprobs")
        values = [x for x in logprobs or [] if x is not None]
        total = float(sum(values)) if logprobs is not None else None
        count = len(logprobs) if logprobs is not None else 0
        reason = "length" if choice.get("finish_reason") == "length" else "stop"
        mean = total / max(count, 1) if total is not None else None
        return GeneratedText(sample_index, choice.get("text", ""), count, total, mean, reason)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body``; retries (tenacity) refused connections, timeouts and RETRY_STATUSES answers with
        exponential backoff (``Retry-After`` honoured), up to ``max_retries`` more attempts."""
        import tenacity

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            sleep=time.sleep,
            reraise=True,
        )
        try:
            response = retrying(self._attempt, body)
        except _Retryable as exc:  # the retries are spent
            attempts = self.max_retries + 1
            if exc.response is None:
                raise ConnectionError(
                    f"cannot reach the completions server at {self.url} after {attempts} attempts: {exc.__cause__}"
                ) from exc.__cause__
            response = exc.response
        if response.status_code >= 400:
            raise RuntimeError(
                f"completions server {self.url} answered HTTP {response.status_code}: {response.text[:300]}"
            )
        return response.json()

    def _attempt(self, body: dict[str, Any]) -> httpx.Response:
        try:
            response = self.client.post(self.url, json=body)
        except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError) as exc:
            raise _Retryable(None) from exc
        if response.status_code in RETRY_STATUSES:
            raise _Retryable(response)
        return response

    def _wait(self, state: Any) -> float:
        """Seconds before the next attempt: ``backoff * 2**attempt``, or the server's ``Retry-After``, capped."""
        delay = self.backoff * 2 ** (state.attempt_number - 1)
        error = state.outcome.exception() if state.outcome is not None else None
        retry_after = (
            error.response.headers.get("retry-after") if isinstance(error, _Retryable) and error.response else None
        )
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            delay = float(retry_after)
        return min(delay, self.max_backoff)

    def close(self) -> None:
        self.client.close()
