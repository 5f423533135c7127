"""Password hashing and strength rules.

Strength follows current guidance (NIST SP 800-63B): a minimum length, no
composition rules, and a refusal of passwords that are common or easy to guess.
"Common" is not a hand-made list: ``zxcvbn`` ships frequency lists built from
leaked-password corpora (its ``passwords`` dictionary, 30,000 entries) and
estimates how many guesses a password needs, taking keyboard walks, repeats,
sequences, dates and the user's own name or email into account.
"""
from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn
from zxcvbn.matching import RANKED_DICTIONARIES

MIN_LENGTH = 10
MAX_LENGTH = 200
# zxcvbn score 0-4; 3 means "safely unguessable: moderate protection from an
# offline slow-hash scenario" (about 10^8 guesses or more).
MIN_SCORE = 3
# zxcvbn's matching is superlinear in the length; the head of a long password
# decides whether it is guessable anyway.
_ESTIMATE_CHARS = 64


def hash_password(password: str) -> str:
    # scrypt: memory-hard, werkzeug's default modern algorithm.
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def is_common(password: str) -> bool:
    """True when the password is one of zxcvbn's most common passwords."""
    return password.lower() in RANKED_DICTIONARIES["passwords"]


def weakness(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """Why ``password`` is refused (a Chinese message), or None when it is fine."""
    if len(password) < MIN_LENGTH:
        return _l("密码至少需要 %(n)d 个字符。", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("密码不能超过 %(n)d 个字符。", n=MAX_LENGTH)
    if is_common(password):
        return _l("这是最常见的密码之一，很容易被猜到，请换一个。")
    inputs = [value for value in user_inputs if value]
    # The local part of an email is a likely ingredient too.
    inputs += [value.split("@")[0] for value in inputs if "@" in value]
    result = zxcvbn(password[:_ESTIMATE_CHARS], user_inputs=inputs)
    if result["score"] < MIN_SCORE:
        return _l(
            "密码太容易被猜到（常见词语、拼音、键盘顺序、重复字符、日期或您的邮箱、姓名都会降低强度）。"
            "请使用更长、更少见的组合，例如几个不相关的词语。"
        )
    return None
