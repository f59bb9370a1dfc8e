"""China's unified social credit code (GB 32100-2015): 18 characters, the last a check."""

import random

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(
        ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True)
    )
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why the code is not valid, or None when it is."""
    if len(code) != 18:
        return "length"
    if any(char not in ALPHABET for char in code):
        return "characters"
    if check_character(code[:17]) != code[17]:
        return "check"
    return None


def credit_code_generate(rng: random.Random) -> str:
    """A well-formed code for demo data and tests: 91 (enterprise), area, organisation code."""
    area = "".join(rng.choice("0123456789") for _ in range(6))
    body = "".join(rng.choice(ALPHABET) for _ in range(9))
    first17 = "91" + area + body
    return first17 + check_character(first17)
