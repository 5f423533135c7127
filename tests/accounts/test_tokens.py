import time

import pytest

from procure.accounts import tokens


def test_round_trip(app):
    with app.app_context():
        token = tokens.dumps("invite", {"id": 7})
        assert tokens.loads("invite", token, max_age=60) == {"id": 7}


def test_token_of_another_purpose_is_invalid(app):
    with app.app_context():
        token = tokens.dumps("invite", {"id": 7})
        with pytest.raises(tokens.InvalidToken) as info:
            tokens.loads("password-reset", token, max_age=60)
    assert info.value.reason == "invalid" and not info.value.expired
    assert "链接无效" in str(info.value.message)


def test_tampered_token_is_invalid(app):
    with app.app_context():
        token = tokens.dumps("invite", {"id": 7})
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        with pytest.raises(tokens.InvalidToken) as info:
            tokens.loads("invite", forged, max_age=60)
        with pytest.raises(tokens.InvalidToken):
            tokens.loads("invite", "garbage", max_age=60)
    assert info.value.reason == "invalid"


def test_token_signed_with_another_secret_is_invalid(app):
    with app.app_context():
        token = tokens.dumps("invite", {"id": 7}, secret_key="another-secret-key-0123456789abcdef")
        with pytest.raises(tokens.InvalidToken):
            tokens.loads("invite", token, max_age=60)


def test_expired_token_says_so(app, monkeypatch):
    with app.app_context():
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() - 3601)
        token = tokens.dumps("invite", {"id": 7})
        monkeypatch.setattr(time, "time", real)
        assert tokens.loads("invite", token, max_age=7200) == {"id": 7}
        with pytest.raises(tokens.InvalidToken) as info:
            tokens.loads("invite", token, max_age=3600)
    assert info.value.expired and info.value.reason == "expired"
    assert "已过期" in str(info.value.message)
