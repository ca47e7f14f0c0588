"""Character-level tokenizers: one token per character of an alphabet.

``char_tokenizer("ACGT")`` gives a :class:`transformers.PreTrainedTokenizerFast`
that maps every character of the alphabet to its own token, so a prompt of L
characters is exactly L tokens (plus an optional BOS). It round-trips with
``save_pretrained`` / ``AutoTokenizer.from_pretrained`` and is used by the tests
(tiny random-weight models) and by anyone pretraining a small DNA model.

Token ids: the special tokens come first, in the order ``pad, unk, bos, eos``
(ids 0..3), then the alphabet characters in the order given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # transformers is heavy: import it only when a tokenizer is built
    from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = {
    "pad_token": "<pad>",
    "unk_token": "<unk>",
    "bos_token": "<bos>",
    "eos_token": "<eos>",
}


def char_tokenizer(
    alphabet: str, *, add_bos: bool = False, model_max_length: int = 1 << 20
) -> PreTrainedTokenizerFast:
    """A fast tokenizer with one token per character of ``alphabet``.

    ``alphabet`` is a string of distinct characters (e.g. ``"ACGT"`` or
    ``"0123456789"``); characters outside it encode to ``<unk>``. With
    ``add_bos=True`` every encoded text starts with ``<bos>``. Decoding
    concatenates characters with no spaces, so ``decode(encode(s)) == s``.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    if not alphabet:
        raise ValueError("alphabet must not be empty")
    if len(set(alphabet)) != len(alphabet):
        raise ValueError(f"alphabet has repeated characters: {alphabet!r}")
    specials = list(SPECIAL_TOKENS.values())  # multi-character: never clash with one character
    vocab = {tok: i for i, tok in enumerate(specials)}
    for ch in alphabet:
        vocab[ch] = len(vocab)

    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIAL_TOKENS["unk_token"]))
    # every single character is its own pre-token (whitespace included)
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    if add_bos:
        bos = SPECIAL_TOKENS["bos_token"]
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, vocab[bos])]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        model_max_length=model_max_length,
        padding_side="left",
        clean_up_tokenization_spaces=False,
        model_input_names=["input_ids", "attention_mask"],
        **SPECIAL_TOKENS,
    )
