# Reply parsing shared by every modem family (drivers/atparse.py): the registration forms of
# 3GPP TS 27.007 (+CREG, +CGREG, +CEREG with n = 0..5, location and access-technology fields; the status
# is the 2nd field of a solicited reply and the 1st of an unsolicited one) and +CCLK with or without quotes.
from drivers.atparse import parse_cclk, registration_status


def test_solicited_registration_reads_the_second_field_in_every_form():
    cases = [
        ("+CREG: 0,1", 1),
        ("+CREG: 0,5", 5),
        ("+CREG: 1,2", 2),
        ('+CREG: 2,1,"1A2B","01C3D4E5"', 1),
        ('+CREG: 2,5,"1A2B","01C3D4E5",7', 5),
        ('+CGREG: 2,1,"1A2B","01C3D4E5",3,"01"', 1),
        ('+CEREG: 2,1,"00FE","0812AB01",7', 1),
        ('+CEREG: 4,5,"00FE","0812AB01",9,,,"00000000","00011110"', 5),
        ('+CEREG: 2,3,"00FE","0812AB01",7', 3),
        ("+CEREG: 0,0", 0),
    ]
    for line, stat in cases:
        assert registration_status(line) == stat, line


def test_unsolicited_registration_reads_the_first_field():
    assert registration_status("+CREG: 1", solicited=False) == 1
    assert registration_status('+CREG: 5,"1A2B","01C3D4E5",0', solicited=False) == 5
    assert registration_status('+CEREG: 2,"00FE","0812AB01",7', solicited=False) == 2
    assert registration_status('+CGREG: 1,"1A2B","01C3D4E5",2,"01"', solicited=False) == 1


def test_registration_garbage_is_none():
    for line in ("+CREG:", "+CREG: x,y", "+CREG: 0", "OK", '+CEREG: 2,"00FE"'):
        assert registration_status(line) is None, line


def test_cclk_with_and_without_quotes():
    assert parse_cclk('+CCLK: "26/11/27,05:12:30+04"') == 1795752750
    assert parse_cclk("+CCLK: 26/11/27,05:12:30+04") == 1795752750
    assert parse_cclk('+CCLK: "24/02/29,23:00:00+00"') == 1709247600
    assert parse_cclk('+CCLK: "30/03/01,02:00:00-08"') == 1898553600 + 4 * 3600
    assert parse_cclk("+CCLK: 30/03/01,00:00:00") == 1898553600  # no zone: UTC
    assert parse_cclk('+CCLK: "04/01/01,00:00:28+00"') is None  # the modem's default date
    assert parse_cclk('+CCLK: "garbage"') is None
    assert parse_cclk("+CCLK: 26/13/01,00:00:00+00") is None
