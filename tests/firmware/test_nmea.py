from drivers.nmea import NmeaParser, days_from_civil, read_fixes

try:
    import io
except ImportError:  # pragma: no cover
    import uio as io


def sentence(body):
    """$body*HH\\r\\n with the right checksum."""
    data = body.encode()
    c = 0
    for b in data:
        c ^= b
    return b"$" + data + b"*%02X\r\n" % c


RMC = "GPRMC,083559.00,A,4545.58200,N,00450.55600,E,21.600,91.50,020326,,,A"
VTG = "GPVTG,91.50,T,,M,21.600,N,40.003,K,A"
GGA = "GPGGA,083559.00,4545.58200,N,00450.55600,E,1,09,1.02,172.4,M,47.6,M,,"
GSA = "GPGSA,A,3,02,05,08,11,14,17,20,23,26,,,,1.64,1.02,1.33"


# A no-fix RMC of another second: closes the epoch before it. A fresh parser learns during its first epoch
# which sentences the receiver sends, so it emits that epoch when the next one starts.
CLOSE = "GPRMC,235959.00,V,,,,,,,,,,N"


def feed_all(parser, lines, close=True):
    out = []
    for line in lines + ([sentence(CLOSE)] if close else []):
        fix = parser.feed(line)
        if fix is not None:
            out.append(fix)
    return out


def test_epoch_of_rmc_vtg_gga_gsa_gives_one_fix_with_integer_units():
    p = NmeaParser()
    fixes = feed_all(p, [sentence(RMC), sentence(VTG), sentence(GGA), sentence(GSA)])
    assert len(fixes) == 1
    f = fixes[0]
    # 45 deg 45.582' = 45.7597 deg ; 4 deg 50.556' = 4.8426 deg
    assert f.lat == 457597000 and f.lon == 48426000
    assert f.t == days_from_civil(2026, 3, 2) * 86400 + 8 * 3600 + 35 * 60 + 59 and f.ms == 0
    assert f.speed_mms == 11112  # 21.6 kn = 11.112 m/s
    assert f.course_cdeg == 9150
    assert f.quality == 1 and f.hdop_c == 102 and f.sats == 9 and f.valid
    assert p.sentences == 5 and p.crc_fails == 0 and p.rejected == 0


def test_south_west_and_rounding_to_1e7_degree():
    p = NmeaParser()
    fixes = feed_all(p, [sentence("GNRMC,235959.50,A,3351.1234567,S,15112.9999999,W,0.0,,311299,,,D")])
    f = fixes[0]
    # 33 + 51.1234567/60 = 33.852057611.. ; 151 + 12.9999999/60 = 151.216666665
    assert f.lat == -338520576 and f.lon == -1512166667
    assert f.ms == 500 and f.t == days_from_civil(1999, 12, 31) * 86400 + 86399
    assert f.speed_mms == 0 and f.course_cdeg == -1


def test_known_dates():
    assert days_from_civil(1970, 1, 1) == 0
    assert days_from_civil(2000, 3, 1) == 11017
    assert days_from_civil(2026, 3, 2) == 20514


def test_checksum_mismatch_is_counted_and_dropped():
    p = NmeaParser()
    bad = bytearray(sentence(GGA))
    bad[20] = ord("7") if bad[20] != ord("7") else ord("8")
    assert p.feed(bytes(bad)) is None
    assert p.crc_fails == 1 and p.sentences == 0


def test_missing_checksum_lowercase_hex_and_missing_cr():
    p = NmeaParser()
    line = sentence(GGA)
    assert p.feed(line[:-5] + b"\r\n") is None  # no *HH
    assert p.rejected == 1
    assert feed_all(p, [line[:-4] + line[-4:-2].lower() + b"\n"])  # lowercase hex, LF only


def test_spliced_line_keeps_the_complete_sentence_and_counts_the_fragment():
    p = NmeaParser()
    gll = sentence("GPGLL,4545.58200,N,00450.55600,E,083559.00,A,A")
    fixes = feed_all(p, [b"$GPGGA,0301" + gll])
    assert len(fixes) == 1 and fixes[0].lat == 457597000
    assert p.rejected == 1 and p.sentences == 2


def test_bytes_above_0x7f_and_control_bytes_are_rejected_not_raised():
    p = NmeaParser()
    line = sentence(GGA)
    assert p.feed(line[:10] + b"\xc3\xa9" + line[10:]) is None
    assert p.feed(line[:10] + b"\x00" + line[10:]) is None
    assert p.feed(b"\xff\xfe\xfd") is None
    assert p.rejected == 3


def test_very_long_line_and_junk_are_rejected():
    p = NmeaParser()
    assert p.feed(b"$GPGGA," + b"1" * 500 + b"*00\r\n") is None
    assert p.feed(b"garbage without dollar\r\n") is None
    assert p.feed(b"\r\n") is None and p.feed(b"") is None
    assert p.rejected == 2


def test_all_empty_no_fix_sentences_give_no_fix():
    p = NmeaParser()
    lines = [sentence("GPRMC,,V,,,,,,,,,,N"), sentence("GPVTG,,,,,,,,,N"),
             sentence("GPGGA,,,,,,0,00,99.99,,,,,,"), sentence("GPGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99")]
    assert feed_all(p, lines) == []
    assert p.sentences == 5 and p.rejected == 0


def test_rmc_status_v_with_a_position_is_not_valid():
    p = NmeaParser()
    fixes = feed_all(p, [sentence(RMC.replace(",A,4545", ",V,4545").replace(",,,A", ",,,N")),
                         sentence(GGA.replace(",E,1,09", ",E,0,09"))])
    assert len(fixes) == 1 and not fixes[0].valid and fixes[0].quality == 0


def test_gga_quality_decides_validity_even_if_rmc_says_a():
    p = NmeaParser()
    fixes = feed_all(p, [sentence(RMC), sentence(GGA.replace(",E,1,09", ",E,6,09"))])
    assert fixes[0].quality == 6 and not fixes[0].valid  # 6 = dead reckoning estimate


def test_malformed_fields_are_rejected():
    p = NmeaParser()
    bad = [
        GGA.replace("4545.58200", "45A5.58200"),  # letter in latitude
        GGA.replace("4545.58200", "4560.58200"),  # 60 minutes
        GGA.replace("4545.58200", "9145.58200"),  # beyond the pole
        GGA.replace(",N,", ",X,"),  # hemisphere
        GGA.replace(",N,", ",,"),  # position without hemisphere
        GGA.replace("083559.00", "253559.00"),  # hour 25
        RMC.replace("020326", "310226"),  # 31 February
        RMC.replace("21.600", "2-1.6"),  # speed
        RMC.replace(",A,4545", ",Q,4545"),  # status
        "GPRMC,083559.00,A,4545.58200,N",  # truncated
        GSA.replace("A,3,", "A,9,"),
        GGA.replace("4545.58200", "4545"),  # minutes without decimals
        GGA.replace(",N,", ",E,"),  # an east latitude
        GGA.replace("083559.00", "083559."),  # a dot and no decimals
        GGA.replace("083559.00", "083560.00"),  # second 60
    ]
    assert feed_all(p, [sentence(b) for b in bad], close=False) == []
    assert p.rejected == len(bad) and p.sentences == 0


def test_unknown_types_and_talkers_are_ignored():
    p = NmeaParser()
    lines = [sentence("GPGSV,3,1,11,02,45,120,40"), sentence("GPTXT,01,01,02,u-blox"),
             sentence("PGRMC,083559.00,A,4545.58200,N,00450.55600,E,21.6,91.5,020326,,,A"),
             sentence("PUBX,00,083559.00")]
    assert feed_all(p, lines, close=False) == []
    assert p.ignored == 4 and p.rejected == 0 and p.crc_fails == 0


def test_all_talkers_and_gns_gll():
    for talker in ("GP", "GN", "GL", "GA", "BD", "GB"):
        p = NmeaParser()
        fixes = feed_all(p, [sentence(talker + RMC[2:]), sentence(talker + GGA[2:])])
        assert len(fixes) == 1 and fixes[0].valid, talker
    p = NmeaParser()
    fixes = feed_all(p, [sentence("GNGNS,083559.00,4545.58200,N,00450.55600,E,AAN,12,0.80,172.4,47.6,,,V")])
    assert fixes[0].quality == 1 and fixes[0].sats == 12 and fixes[0].hdop_c == 80 and fixes[0].valid
    fixes = feed_all(p, [sentence("GNGNS,083600.00,4545.58200,N,00450.55600,E,NNN,00,,,,,,V"),
                         sentence("GNGNS,083601.00,,,,,NN,00,,,,,,V")], close=False)
    assert fixes[0].quality == 0 and not fixes[0].valid


def test_lost_gga_epoch_is_emitted_when_the_next_epoch_starts():
    p = NmeaParser()
    feed_all(p, [sentence(RMC), sentence(GGA)], close=False)  # learns that this receiver sends both
    assert p.feed(sentence(RMC.replace("083559.00", "083559.50"))) is not None  # first epoch, now closed
    assert p.feed(sentence(GGA.replace("083559.00", "083559.50"))) is not None  # learned: on time
    rmc2 = RMC.replace("083559.00", "083600.00")
    assert p.feed(sentence(rmc2)) is None  # waits for the GGA of 08:36:00, which is lost
    rmc3 = RMC.replace("083559.00", "083601.00")
    late = p.feed(sentence(rmc3))
    assert late is not None and late.t % 86400 == 8 * 3600 + 36 * 60 and late.quality == 1
    on_time = p.feed(sentence(GGA.replace("083559.00", "083601.00")))
    assert on_time is not None and on_time.t == late.t + 1


def test_speed_from_vtg_kmh_when_knots_missing():
    p = NmeaParser()
    fixes = feed_all(p, [sentence("GPVTG,10.0,T,,M,,N,36.0,K,A"),
                         sentence("GPGGA,083559.00,4545.58200,N,00450.55600,E,1,09,1.02,172.4,M,47.6,M,,"),
                         sentence("GPVTG,10.0,T,,M,,N,36.0,K,A"),
                         sentence("GPGGA,083600.00,4545.58200,N,00450.55600,E,1,09,1.02,172.4,M,47.6,M,,")],
                     close=False)
    # GGA-only receiver: epoch 1 is emitted when epoch 2 starts, with the speed of its VTG (36 km/h)
    assert len(fixes) == 1 and fixes[0].speed_mms == 10000 and fixes[0].course_cdeg == 1000


def test_ten_hertz_epochs_are_distinct():
    p = NmeaParser()
    lines = [sentence(RMC.replace("083559.00", "083559.%d0" % tenth)) for tenth in range(10)]
    fixes = feed_all(p, lines)
    assert [f.ms for f in fixes] == [i * 100 for i in range(10)]


def test_random_bytes_never_raise():
    p = NmeaParser()
    seed = 12345
    base = sentence(RMC) + sentence(GGA)
    for _ in range(300):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        data = bytearray(base)
        for k in range(seed % 5 + 1):
            data[(seed >> (k * 3)) % len(data)] = (seed >> k) & 0xFF
        for line in bytes(data).split(b"\n"):
            p.feed(line + b"\n")
    assert p.rejected + p.crc_fails > 0


def test_read_fixes_from_a_stream():
    data = sentence(RMC) + sentence(VTG) + sentence(GGA) + sentence(GSA)
    data += data.replace(b"083559.00", b"083600.00")
    data += sentence(RMC.replace("083559.00", "083601.00")) + sentence(GGA.replace("083559.00", "083601.00"))
    parser = NmeaParser()
    fixes = list(read_fixes(io.BytesIO(data), parser))
    # the second epoch's checksums are wrong after the replace: counted, not raised
    assert [f.t % 60 for f in fixes] == [59, 1]
    assert parser.crc_fails == 2


def test_without_a_date_t_is_zero_and_tod_ms_still_times_the_fix():
    p = NmeaParser()
    fixes = feed_all(p, [sentence(GGA), sentence(GGA.replace("083559.00", "083600.25"))], close=False)
    assert fixes[0].t == 0 and fixes[0].tod_ms == (8 * 3600 + 35 * 60 + 59) * 1000
    # once an RMC brings the date, GGA-only epochs get it too, across midnight
    p = NmeaParser()
    lines = [sentence(RMC.replace("083559.00", "235959.00")), sentence(GGA.replace("083559.00", "235959.00")),
             sentence(GGA.replace("083559.00", "000000.00")), sentence(GGA.replace("083559.00", "000001.00"))]
    fixes = feed_all(p, lines, close=False)
    day = days_from_civil(2026, 3, 2)
    assert [f.t for f in fixes] == [day * 86400 + 86399, (day + 1) * 86400]


def test_every_talker_id_gives_positions_and_proprietary_sentences_are_ignored():
    # GQ (QZSS), GI (NavIC), IN (integrated navigation), II... : NMEA 4.11 and receivers add talkers over time
    for talker in ("GP", "GN", "GL", "GA", "BD", "GB", "GQ", "GI", "IN", "II", "QZ"):
        p = NmeaParser()
        fixes = feed_all(p, [sentence(talker + RMC[2:]), sentence(talker + GGA[2:])])
        assert len(fixes) == 1 and fixes[0].valid and p.ignored == 0, talker
    p = NmeaParser()
    assert feed_all(p, [sentence("PGRMC,083559.00,A,4545.58200,N,00450.55600,E,21.6,91.5,020326,,,A"),
                        sentence("gpRMC,083559.00,A,4545.58200,N,00450.55600,E,21.6,91.5,020326,,,A")],
                    close=False) == []
    assert p.ignored == 2 and p.sentences == 0


ZDA = "GPZDA,083559.00,02,03,2026,00,00"


def test_zda_dates_a_receiver_that_sends_gga_without_rmc():
    p = NmeaParser()
    gga2 = GGA.replace("083559.00", "083600.00")
    fixes = feed_all(p, [sentence(GGA), sentence(ZDA), sentence(gga2), sentence(ZDA.replace("083559", "083600")),
                         sentence(GGA.replace("083559.00", "083601.00"))], close=False)
    day = days_from_civil(2026, 3, 2)
    midnight = day * 86400
    assert [f.t for f in fixes] == [midnight + 30959, midnight + 30960, midnight + 30961]
    assert p.sentences == 5 and p.rejected == 0
    # a ZDA with a bad date or a bad checksum changes nothing
    p = NmeaParser()
    bad = sentence(ZDA)[:-4] + b"00\r\n"
    fixes = feed_all(p, [sentence(GGA), bad, sentence("GPZDA,083559.00,31,02,2026,00,00"), sentence(gga2)],
                     close=False)
    assert fixes[0].t == 0 and p.crc_fails == 1 and p.rejected == 1


def test_nmea_4_11_navigational_status_is_read_and_checked():
    # RMC field 13 and GNS field 13: S safe, C caution, U unsafe, V "no navigational status given" (what
    # u-blox M8/M9 always send, so it does not spoil a fix); any other letter is a malformed sentence.
    for nav in ("S", "C", "U", "V", ""):
        p = NmeaParser()
        fixes = feed_all(p, [sentence(RMC + "," + nav), sentence(GGA)])
        assert len(fixes) == 1 and fixes[0].valid, nav
        p = NmeaParser()
        fixes = feed_all(p, [sentence("GNGNS,083559.00,4545.58200,N,00450.55600,E,AA,12,0.80,172.4,47.6,,," + nav)])
        assert len(fixes) == 1 and fixes[0].valid, nav
    p = NmeaParser()
    gns = "GNGNS,083559.00,4545.58200,N,00450.55600,E,AA,12,0.80,172.4,47.6,,,X"
    assert feed_all(p, [sentence(RMC + ",X"), sentence(gns)], close=False) == [] and p.rejected == 2
