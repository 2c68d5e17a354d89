"""A provider failure is classified without loading the other provider's SDK (an OpenAI run that imported
anthropic at its first dropped connection stalled every episode on the event loop for ~1.4 s), and
both SDKs' failures are still recognised when both are loaded."""

from __future__ import annotations

import subprocess
import sys

import httpx

from crm_env.providers.retry import retryable


def test_an_openai_failure_is_classified_without_importing_anthropic() -> None:
    code = ("import sys, httpx, openai\n"
            "from crm_env.providers.retry import retryable\n"
            "request = httpx.Request('POST', 'http://127.0.0.1:1/v1/chat/completions')\n"
            "assert retryable(openai.APIConnectionError(request=request))\n"
            "assert not retryable(ValueError('not a provider failure'))\n"
            "print('anthropic' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_both_sdks_failures_are_recognised_when_loaded() -> None:
    import anthropic
    import openai

    request = httpx.Request("POST", "http://127.0.0.1:1/v1/messages")
    for sdk in (openai, anthropic):
        assert retryable(sdk.APIConnectionError(request=request))
        for status, expected in ((429, True), (503, True), (400, False), (401, False)):
            error = sdk.APIStatusError("x", response=httpx.Response(status, request=request), body=None)
            assert retryable(error) is expected, (sdk.__name__, status)
