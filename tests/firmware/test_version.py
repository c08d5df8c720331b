from app.version import VERSION, is_newer, parse_version


def test_parse_version_accepts_three_numbers():
    assert parse_version("1.20.3") == (1, 20, 3)


def test_parse_version_rejects_garbage_without_raising():
    for text in ("", "1.2", "1.2.3.4", "a.b.c", "1..3", "-1.2.3", "99999.0.0"):
        assert parse_version(text) is None, text


def test_is_newer_compares_numerically_not_as_text():
    assert is_newer("0.10.0", "0.9.9")
    assert not is_newer("0.9.9", "0.10.0")
    assert not is_newer("garbage", "0.1.0")
    assert parse_version(VERSION) is not None
