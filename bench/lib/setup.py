#!/usr/bin/env python3
"""Writes everything one run of bench/run.sh needs into a work folder (python3 stdlib + openssl).

  setup.py --work DIR --bench BENCH_DIR --ports name=port,... [--access-log 0|1] [--log-level info]

Writes:
  www/items-{1k,10k,10m}   canned SOAP 1.1 GetItemsResponse documents (served by the backend nginx)
  www/jwks.json            the JWKS of a fresh RSA-2048 key (kid bench-1)
  token                    a long-lived RS256 access token for it (iss/aud/scope as D's config wants)
  soap-request.xml         the SOAP request clients send in A and B
  request.json             the REST request body clients send in C, D and E
  backend.conf proxy.conf  nginx configs (A's backend, B's reverse proxy)
  gw-c/ gw-d/ gw-m/        soapgate configs (C minimal, D full mediation, M the 10 MiB memory probe);
                           D's soapgate.yaml is composed by run.sh from gw-d/base.yaml plus each
                           optional block (threats.yaml, rate_limits.yaml) that this build accepts
  env.sh                   shell variables for run.sh (sizes, token, paths)
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import time

NS = "urn:soapgate:bench:items"
ACTION = NS + "/GetItems"
ENVELOPE_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
    '<soap:Body><i:GetItemsResponse xmlns:i="' + NS + '">'
)
ENVELOPE_TAIL = "</i:GetItemsResponse></soap:Body></soap:Envelope>\n"
CATEGORIES = ["books", "tools", "garden", "music"]

# Target sizes of the canned responses (bytes of the whole HTTP body).
SIZES = {"1k": 1024, "10k": 10 * 1024, "10m": 10 * 1024 * 1024}


def item(n):
    cents = 100 + (n * 3737) % 99000
    if cents % 10 == 0:  # a price whose text survives a JS Number round trip ("12.5" != "12.50")
        cents += 1
    return (
        "<i:item><i:id>%d</i:id><i:sku>SKU-%06d</i:sku><i:name>Catalogue item %d &amp; spare</i:name>"
        "<i:price>%d.%02d</i:price><i:inStock>%s</i:inStock><i:category>%s</i:category></i:item>"
        % (n, n, n, cents // 100, cents % 100, "true" if n % 3 else "false", CATEGORIES[n % 4])
    )


def response(target):
    """The GetItemsResponse whose size is closest to `target` bytes (whole items only)."""
    parts = [ENVELOPE_HEAD]
    size = len(ENVELOPE_HEAD) + len(ENVELOPE_TAIL)
    n = 0
    while True:
        nxt = item(n + 1)
        if abs(size + len(nxt) - target) > abs(size - target):
            break
        n += 1
        parts.append(nxt)
        size += len(nxt)
    parts.append(ENVELOPE_TAIL)
    return "".join(parts), n


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def keys_and_token(work, issuer, audience):
    key = os.path.join(work, "jwt-key.pem")
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key],
        check=True, capture_output=True,
    )
    mod = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-modulus"],
                         check=True, capture_output=True, text=True).stdout
    n = bytes.fromhex(mod.strip().split("=", 1)[1])
    jwks = {"keys": [{"kty": "RSA", "kid": "bench-1", "use": "sig", "alg": "RS256",
                      "n": b64u(n), "e": b64u((65537).to_bytes(3, "big"))}]}
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": "bench-1"}
    claims = {"iss": issuer, "aud": audience, "sub": "bench-client", "client_id": "bench-client",
              "scope": "items:read", "iat": now - 60, "nbf": now - 60, "exp": now + 10 * 365 * 86400}
    signing_input = (b64u(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64u(json.dumps(claims, separators=(",", ":")).encode()))
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                         input=signing_input.encode(), check=True, capture_output=True).stdout
    return jwks, signing_input + "." + b64u(sig)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def nginx_common(work, name):
    t = os.path.join(work, "nginx-tmp-" + name)
    os.makedirs(t, exist_ok=True)
    return f"""worker_processes 1;
daemon off;
master_process on;
pid {work}/{name}.pid;
error_log {work}/{name}-error.log warn;
events {{ worker_connections 8192; multi_accept on; }}
"""


def nginx_temp(work, name):
    t = os.path.join(work, "nginx-tmp-" + name)
    return (f"  client_body_temp_path {t}/body; proxy_temp_path {t}/proxy;\n"
            f"  fastcgi_temp_path {t}/fcgi; uwsgi_temp_path {t}/uwsgi; scgi_temp_path {t}/scgi;\n")


def backend_conf(work, port, keepalive="300s", locations=""):
    # Static files: answered from the page cache with sendfile. nginx's static module refuses
    # POST with 405; `error_page 405 =200 $uri` re-serves the same file as a 200 (the usual idiom
    # for a canned POST answer; the request body is discarded). `return 200 '...'` cannot hold
    # more than nginx's 4 KiB config token.
    return nginx_common(work, "backend") + f"""http {{
  access_log off;
{nginx_temp(work, "backend")}  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 10000000; keepalive_timeout {keepalive};
  open_file_cache max=64 inactive=300s; open_file_cache_valid 300s;
  client_body_buffer_size 64k;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    root {work}/www;
    default_type text/xml;
    location = /jwks.json {{ default_type application/json; }}
{locations}    location / {{ error_page 405 =200 $uri; }}
  }}
}}
"""


def proxy_conf(work, port, backend_port, access_log):
    log = f"access_log {work}/proxy-access.log;" if access_log else "access_log off;"
    return nginx_common(work, "proxy") + f"""http {{
  {log}
{nginx_temp(work, "proxy")}  tcp_nodelay on;
  keepalive_requests 10000000; keepalive_timeout 300s;
  client_body_buffer_size 64k;
  proxy_buffer_size 16k; proxy_buffers 8 16k;
  upstream soap_backend {{ server 127.0.0.1:{backend_port}; keepalive 128; keepalive_requests 10000000; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      proxy_pass http://soap_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


TEMPLATE = """<i:GetItems xmlns:i="{{ns}}">
  <i:category>{{body.category}}</i:category>
  <i:limit>{{body.limit}}</i:limit>
</i:GetItems>
"""


def gateway_yaml(port, admin, log_level, extra=""):
    return f"""# generated by bench/lib/setup.py
listen: 127.0.0.1:{port}
admin_listen: 127.0.0.1:{admin}
workers: 1                    # pinned to one core by run.sh
mappings: mappings
logging: {{ format: json, level: {log_level} }}
{extra}"""


def mapping(service, backend_url, routes, wsdl=None):
    w = f"wsdl: {wsdl}\n" if wsdl else ""
    return f"""service: {service}
{w}backend:
  urls: [{backend_url}]
  soap_version: "1.1"
  timeout: 10s
  namespace: {NS}
routes:
{routes}"""


def c_route(size):
    # C: minimal mediation. A template, the schema-less convention, nothing else.
    return f"""  - id: items-{size}
    method: POST
    path: /c/{size}/items
    operation: GetItems
    action: {ACTION}
    public: true
    request:
      template: templates/get-items.xml.hbs
"""


def d_route(size, rate_limit):
    # D: full mediation. Bearer RS256 JWT + scope, JSON validated against the WSDL input schema,
    # threat patterns (gateway `threats`), a template, typed XML -> JSON from the WSDL.
    rl = "    rate_limit: [bench]\n" if rate_limit else ""
    return f"""  - id: items-{size}
    method: POST
    path: /d/{size}/items
    operation: GetItems
    scopes: [items:read]
{rl}    request:
      template: templates/get-items.xml.hbs
      validate: true
"""


D_GATEWAY = """auth:
  realm: soapgate-bench
  providers:
    - name: bench
      issuer: {issuer}
      discovery: false
      jwks_uri: {jwks}
      audiences: [{aud}]
      algorithms: [RS256]
"""

# Threat protection of D: every built-in pattern set over path, query, headers and JSON values
# (limits.json keeps its defaults, which D's small body passes).
D_THREATS = """threats:
  patterns: [sql, xpath, xml, script]
"""

# The rate-limit policy of D: high enough never to refuse (1,000,000/s is the most a policy may
# allow: one unit per microsecond), so it costs without triggering.
# Key names follow the rate-limiting issue (policies with limit/window/key); run.sh uses this
# variant only when `soapgate check` accepts it.
D_RATE_LIMIT = """rate_limits:
  policies:
    - name: bench
      limit: 1000000
      window: 1s
      key: subject
"""

M_GATEWAY = """limits:
  backend_response: 16MiB     # the 10 MiB probe
  xml: { children: 200000, text: 1MiB }
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--ports", required=True, help="name=port,... for backend proxy c c_admin d d_admin m m_admin e")
    ap.add_argument("--access-log", type=int, default=1)
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    bench = os.path.abspath(args.bench)
    p = dict(kv.split("=") for kv in args.ports.split(","))
    os.makedirs(work, exist_ok=True)
    backend = f"http://127.0.0.1:{p['backend']}"
    issuer = f"{backend}/issuer"
    aud = "urn:soapgate:bench"
    log_level = "info" if args.access_log else "warn"

    counts = {}
    for name, target in SIZES.items():
        body, n = response(target)
        write(os.path.join(work, "www", "items-" + name), body)
        counts[name] = (n, len(body.encode()))
    jwks, token = keys_and_token(work, issuer, aud)
    write(os.path.join(work, "www", "jwks.json"), json.dumps(jwks))
    write(os.path.join(work, "token"), token)
    write(os.path.join(work, "soap-request.xml"),
          '<?xml version="1.0" encoding="UTF-8"?>\n'
          '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
          f'<i:GetItems xmlns:i="{NS}"><i:category>books</i:category><i:limit>100</i:limit>'
          '</i:GetItems></soap:Body></soap:Envelope>\n')
    write(os.path.join(work, "request.json"), '{"category":"books","limit":100}')

    write(os.path.join(work, "backend.conf"), backend_conf(work, p["backend"]))
    write(os.path.join(work, "proxy.conf"), proxy_conf(work, p["proxy"], p["backend"], args.access_log))

    wsdl_src = os.path.join(bench, "fixtures", "items.wsdl")
    for gw in ("gw-c", "gw-d", "gw-m"):
        d = os.path.join(work, gw)
        os.makedirs(os.path.join(d, "mappings"), exist_ok=True)
        write(os.path.join(d, "templates", "get-items.xml.hbs"), TEMPLATE)
        os.makedirs(os.path.join(d, "wsdl"), exist_ok=True)
        shutil.copy(wsdl_src, os.path.join(d, "wsdl", "items.wsdl"))

    # C
    write(os.path.join(work, "gw-c", "soapgate.yaml"), gateway_yaml(p["c"], p["c_admin"], log_level))
    for s in ("1k", "10k"):
        write(os.path.join(work, "gw-c", "mappings", f"c-{s}.yaml"),
              mapping(f"c-{s}", f"{backend}/items-{s}", c_route(s)))
    # D: the gateway part (auth), and the optional blocks run.sh appends when this build accepts
    # them (threats.yaml, rate_limits.yaml); mappings.rl/ holds the routes naming the policy.
    d_auth = D_GATEWAY.format(issuer=issuer, jwks=f"{backend}/jwks.json", aud=aud)
    write(os.path.join(work, "gw-d", "base.yaml"), gateway_yaml(p["d"], p["d_admin"], log_level, d_auth))
    write(os.path.join(work, "gw-d", "threats.yaml"), D_THREATS)
    write(os.path.join(work, "gw-d", "rate_limits.yaml"), D_RATE_LIMIT)
    for folder, rl in (("mappings", False), ("mappings.rl", True)):
        for s in ("1k", "10k"):
            write(os.path.join(work, "gw-d", folder, f"d-{s}.yaml"),
                  mapping(f"d-{s}", f"{backend}/items-{s}", d_route(s, rl), wsdl="wsdl/items.wsdl"))
    # M: the 10 MiB memory probe, the C route (template, convention) and the D-style typed route
    # without auth, in one process
    write(os.path.join(work, "gw-m", "soapgate.yaml"),
          gateway_yaml(p["m"], p["m_admin"], log_level, M_GATEWAY))
    write(os.path.join(work, "gw-m", "mappings", "m-c.yaml"),
          mapping("m-c", f"{backend}/items-10m", c_route("10m")))
    typed = d_route("10m", False).replace("/d/10m", "/t/10m").replace(
        "    scopes: [items:read]\n", "    public: true\n")
    write(os.path.join(work, "gw-m", "mappings", "m-t.yaml"),
          mapping("m-t", f"{backend}/items-10m", typed, wsdl="wsdl/items.wsdl"))

    with open(os.path.join(work, "env.sh"), "w") as f:
        for s, (n, b) in counts.items():
            f.write(f"ITEMS_{s.upper()}={n}\nBYTES_{s.upper()}={b}\n")
        f.write(f"TOKEN={token}\nISSUER={issuer}\nAUDIENCE={aud}\nSOAP_ACTION={ACTION}\n")


if __name__ == "__main__":
    main()
