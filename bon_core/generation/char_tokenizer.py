"""A character-level tokenizer in the standard ``save_pretrained`` layout.

It is a ``PreTrainedTokenizerFast`` over a ``tokenizers`` WordLevel model whose pre-tokenizer isolates every character,
so ``AutoTokenizer.from_pretrained(path)`` loads it without ``trust_remote_code``. Special tokens: ``<pad>`` (id 0),
``<bos>``, ``<eos>``, ``<unk>``.

Adding a special token later (e.g. a PRM step tag) is the usual transformers call::

    tok = AutoTokenizer.from_pretrained(policy_dir)
    tok.add_special_tokens({"additional_special_tokens": ["<step>"]})
    model.resize_token_embeddings(len(tok))
"""

from __future__ import annotations

from collections.abc import Iterable

SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>")
# Everything the arith task writes, plus printable ASCII so that unexpected text never maps to <unk> silently.
DEFAULT_CHARACTERS = "\n" + "".join(chr(c) for c in range(32, 127))


def build_char_tokenizer(characters: Iterable[str] = DEFAULT_CHARACTERS):
    """A ``PreTrainedTokenizerFast`` with one token per character of ``characters`` (duplicates ignored)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    for token in (*SPECIAL_TOKENS, *characters):
        if len(token) != 1 and token not in SPECIAL_TOKENS:
            raise ValueError(f"characters must be single characters, got {token!r}")
        vocab.setdefault(token, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
        clean_up_tokenization_spaces=False,
        model_max_length=1024,
    )
