"""Child process that serves the real Flask app on loopback: `python -m hil_tests.harness.serve`.

Prints `LISTENING <port>` once the socket is bound (port 0 picks a free one, so parallel runs never
collide), then serves until SIGTERM/SIGINT. The database is a real SQLite file given by --db.
"""

import argparse
import json
import signal
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="SQLite file (created and migrated if missing)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no request log")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="extra server setting, e.g. NO_SHOW_DELAY_MINUTES=1440 (repeatable)")
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("the bench serves on loopback only")

    from hil_tests.harness.simclock import install_from_env

    install_from_env()  # before the app is imported: the server's now() follows the bench's clock

    from werkzeug import serving

    from server import create_app

    # Plain HTTP on loopback: the session cookie cannot be "secure" or a browser would never send it back.
    config = {"DATABASE": args.db, "SECRET_KEY": "bench", "TESTING": False, "SESSION_COOKIE_SECURE": False}
    for item in args.set:
        key, _, value = item.partition("=")
        config[key] = json.loads(value)
    app = create_app(config)
    from server import db as server_db

    with app.app_context():
        server_db.init_db(args.db)
    if args.quiet:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    httpd = serving.make_server(args.host, args.port, app, threaded=True)

    def stop(_sig, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print("LISTENING %d" % httpd.socket.getsockname()[1], flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
