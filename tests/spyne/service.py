#!/usr/bin/env python3
"""Spyne-based SOAP backend used by soapgate end-to-end tests.

Usage: python service.py <port> [--exit-on-stdin-eof]   (port 0 = pick a free port)

Serves on 127.0.0.1:
  /soap11        SOAP 1.1 endpoint   (WSDL: /soap11?wsdl)
  /soap12        SOAP 1.2 endpoint   (WSDL: /soap12?wsdl)

Prints exactly one line "READY <port>" to stdout once listening.
Exits cleanly (status 0) on SIGTERM / SIGINT.
"""

import datetime
import decimal
import logging
import signal
import socketserver
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from lxml import html as lxml_html
from spyne import (Application, Array, Boolean, ComplexModel, DateTime,
                   Decimal, Fault, Integer, ServiceBase, Unicode, rpc)
from spyne.protocol.soap import Soap11, Soap12
from spyne.server.wsgi import WsgiApplication

TNS = "urn:soapgate:test:inventory"


class Item(ComplexModel):
    __namespace__ = TNS
    # _type_info as a list keeps the element order deterministic.
    _type_info = [
        ("sku", Unicode),
        ("name", Unicode),
        ("price", Decimal),
        ("quantity", Integer),
        ("active", Boolean),
        ("updated", DateTime),
        ("tags", Array(Unicode)),
    ]


_UTC = datetime.timezone.utc

CATALOGUE = [
    dict(sku="A-001", name="Widget", price=decimal.Decimal("9.99"),
         quantity=12, active=True,
         updated=datetime.datetime(2024, 1, 15, 10, 30, 0, tzinfo=_UTC),
         tags=["blue", "small"]),
    dict(sku="B-002", name="Gadget", price=decimal.Decimal("120.50"),
         quantity=0, active=False,
         updated=datetime.datetime(2024, 2, 1, 8, 0, 0, tzinfo=_UTC),
         tags=["red"]),
    # name exercises XML escaping and non-ASCII UTF-8.
    dict(sku="C-003", name="Doohickey & <Co> — Ünïcødé",
         price=decimal.Decimal("0.05"), quantity=1000, active=True,
         updated=datetime.datetime(2023, 12, 31, 23, 59, 59, tzinfo=_UTC),
         tags=[]),
    dict(sku="007", name="Bond", price=decimal.Decimal("7.00"),
         quantity=7, active=True,
         updated=datetime.datetime(2024, 3, 3, 3, 3, 3, tzinfo=_UTC),
         tags=["secret", "agent", "double-o"]),
]
# Reachable by GetItem only (ListItems cycles over CATALOGUE): non-ASCII text for the replies in
# other encodings (soapgate's threat model, group N).
ACCENTED = dict(sku="cafe", name="Café crème à 3 €", price=decimal.Decimal("3.00"),
                quantity=1, active=True,
                updated=datetime.datetime(2024, 1, 1, 0, 0, 0, tzinfo=_UTC),
                tags=["naïve", "Œuvre"])
BY_SKU = {entry["sku"]: entry for entry in CATALOGUE + [ACCENTED]}
MAX_LIST = 100


def _item(entry):
    return Item(**entry)


class InventoryService(ServiceBase):

    @rpc(Unicode, _returns=Item)
    def GetItem(ctx, sku):
        if sku == "boom":
            raise Fault(faultcode="Server", faultstring="database unavailable")
        entry = BY_SKU.get(sku)
        if entry is None:
            raise Fault(faultcode="Client.NotFound",
                        faultstring="item not found")
        return _item(entry)

    @rpc(Integer, _returns=Array(Item))
    def ListItems(ctx, count):
        count = max(0, min(int(count or 0), MAX_LIST))
        return [_item(CATALOGUE[i % len(CATALOGUE)]) for i in range(count)]

    @rpc(Integer, Integer, _returns=Integer)
    def AddNumbers(ctx, a, b):
        return (a or 0) + (b or 0)

    @rpc(Decimal, Decimal, _returns=Decimal)
    def AddAmounts(ctx, a, b):
        # Exact: every digit of both amounts counts (Python's default context keeps only 28).
        with decimal.localcontext() as c:
            c.prec = 200
            return (a or 0) + (b or 0)


class FixedSoap12(Soap12):
    """Soap12 with a working schema-validation fault.

    spyne 2.14.0's Soap12.schema_validation_error_to_parent crashes (the
    faultstring is bytes, and the Reason element ends up where the Code
    belongs), so wsgiref answers "500 A server error occurred" in text/plain.
    Serialise it like any other Fault instead (Code Sender /
    Subcode SchemaValidationError, Reason/Text), with the faultstring cleaned
    the same way spyne's Soap11 does it.
    """

    def schema_validation_error_to_parent(self, ctx, cls, inst, parent, ns,
                                          **kwargs):
        faultstring = inst.faultstring
        if isinstance(faultstring, bytes):
            faultstring = faultstring.decode("ascii", "replace")
        inst.faultstring = lxml_html.fromstring(faultstring).text
        return self.fault_to_parent(ctx, cls, inst, parent, ns, **kwargs)


def _make_app(proto_cls, encoding=None):
    return WsgiApplication(Application(
        [InventoryService],
        tns=TNS,
        name="InventoryService",
        in_protocol=proto_cls(validator="lxml"),
        out_protocol=proto_cls(encoding=encoding),
    ))


ROUTES = {
    "/soap11": _make_app(Soap11),
    "/soap12": _make_app(FixedSoap12),
    # Replies encoded (and declared) otherwise; spyne's Content-Type still says charset=utf-8.
    "/soap11-latin1": _make_app(Soap11, "ISO-8859-1"),
    "/soap11-cp1252": _make_app(Soap11, "windows-1252"),
    "/soap12-utf16": _make_app(FixedSoap12, "UTF-16"),
}


def dispatcher(environ, start_response):
    path = environ.get("PATH_INFO", "") or "/"
    key = path.rstrip("/") or "/"
    app = ROUTES.get(key)
    if app is None:
        body = b"not found\n"
        start_response("404 Not Found", [("Content-Type", "text/plain"),
                                         ("Content-Length", str(len(body)))])
        return [body]
    return app(environ, start_response)


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    # The default backlog of 5 drops SYNs when tests call in parallel.
    request_queue_size = 128


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # no access log
        pass


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: %s <port>\n" % argv[0])
        return 2
    port = int(argv[1])

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # spyne logs every raised Fault with a traceback; the faults here are
    # deliberate, so keep stderr readable.
    logging.getLogger("spyne").setLevel(logging.CRITICAL)

    httpd = make_server("127.0.0.1", port, dispatcher,
                        server_class=ThreadingWSGIServer,
                        handler_class=QuietHandler)

    def _stop(signum, frame):
        # shutdown() blocks until serve_forever() returns, so it must not run
        # on the main thread (which is inside serve_forever()).
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    if "--exit-on-stdin-eof" in argv:
        # The test harness holds our stdin open; when it exits (even killed), stop too.
        def _watch_stdin():
            sys.stdin.read()
            _stop(None, None)

        threading.Thread(target=_watch_stdin, daemon=True).start()

    sys.stdout.write("READY %d\n" % httpd.server_port)
    sys.stdout.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
