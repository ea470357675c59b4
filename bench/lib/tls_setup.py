#!/usr/bin/env python3
"""Adds the TLS variants of bench/tls.sh to a work folder setup.py has written (stdlib + openssl).

  tls_setup.py --work DIR --ports name=port,...   (backend_tls proxy_tls ct ct_admin dt dt_admin)

Writes:
  pki/ca.pem pki/server.pem pki/server.key   a throwaway CA and a certificate for 127.0.0.1 and
                                             localhost (made here, never committed)
  backend-tls.conf   the canned backend again over TLS, on two ports (one per client: nginx Bt,
                     soapgate Ct/Dt), logging each connection's first request with
                     $ssl_session_reused to handshakes-<client>.log (one line = one handshake)
  proxy-tls.conf     Bt: nginx with `ssl` both sides (client -> nginx over TLS, nginx -> backend
                     over TLS with verification, session reuse and upstream keep-alive)
  gw-ct/ gw-dt/      C and D over TLS both sides: the listener's certificate, https backend URLs
                     trusting the throwaway CA
"""
import argparse
import os
import re
import shutil
import subprocess

import setup


def pki(work):
    d = os.path.join(work, "pki")
    os.makedirs(d, exist_ok=True)
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True, cwd=d)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=soapgate bench CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem")
    return {k: os.path.join(d, f) for k, f in (("ca", "ca.pem"), ("cert", "server.pem"), ("key", "server.key"))}


def ssl_lines(p):
    return (f"    ssl_certificate {p['cert']}; ssl_certificate_key {p['key']};\n"
            "    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:S:10m; ssl_session_timeout 1h;\n")


def backend_tls_conf(work, p, ports):
    servers = ""
    for client, port in ports.items():
        servers += f"""  server {{
    listen 127.0.0.1:{port} ssl backlog=4096;
{ssl_lines(p)}    access_log {work}/handshakes-{client}.log hs if=$first_request;
    root {work}/www;
    default_type text/xml;
    location / {{ error_page 405 =200 $uri; }}
  }}
"""
    return setup.nginx_common(work, "backend-tls") + f"""http {{
{setup.nginx_temp(work, "backend-tls")}  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 10000000; keepalive_timeout 300s;
  client_body_buffer_size 64k;
  map $connection_requests $first_request {{ 1 1; default 0; }}
  log_format hs '$connection $ssl_protocol $ssl_session_reused';
{servers}}}
"""


def proxy_tls_conf(work, p, port, backend_port):
    return setup.nginx_common(work, "proxy-tls") + f"""http {{
  access_log off;
{setup.nginx_temp(work, "proxy-tls")}  tcp_nodelay on;
  keepalive_requests 10000000; keepalive_timeout 300s;
  client_body_buffer_size 64k;
  proxy_buffer_size 16k; proxy_buffers 8 16k;
  upstream soap_backend_tls {{ server 127.0.0.1:{backend_port}; keepalive 128; keepalive_requests 10000000; }}
  server {{
    listen 127.0.0.1:{port} ssl backlog=4096;
{ssl_lines(p)}    location / {{
      proxy_pass https://soap_backend_tls;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_trusted_certificate {p['ca']};
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_session_reuse on;
    }}
  }}
}}
"""


def tls_gateway(work, src, dst, port, admin, backend_tls_port, p):
    """Copies gw-<src> to gw-<dst>: TLS listener, https backend trusting the bench CA."""
    s, d = os.path.join(work, src), os.path.join(work, dst)
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(s, d)
    y = os.path.join(d, "soapgate.yaml")
    text = open(y).read()
    text = re.sub(r"^listen: .*$", f"listen: 127.0.0.1:{port}", text, flags=re.M)
    text = re.sub(r"^admin_listen: .*$", f"admin_listen: 127.0.0.1:{admin}", text, flags=re.M)
    text += f"tls: {{ cert_file: {p['cert']}, key_file: {p['key']} }}\n"
    setup.write(y, text)
    for folder in ("mappings", "mappings.rl"):
        m = os.path.join(d, folder)
        if not os.path.isdir(m):
            continue
        for name in os.listdir(m):
            f = os.path.join(m, name)
            t = re.sub(r"urls: \[http://127\.0\.0\.1:\d+/", f"urls: [https://127.0.0.1:{backend_tls_port}/", open(f).read())
            t = t.replace("  timeout: 10s\n", f"  timeout: 10s\n  tls: {{ ca_file: {p['ca']} }}\n")
            setup.write(f, t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--ports", required=True)
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    ports = dict(kv.split("=") for kv in args.ports.split(","))
    p = pki(work)
    upstream = {"proxy": ports["backend_tls"], "gateway": ports["backend_tls_gw"]}
    setup.write(os.path.join(work, "backend-tls.conf"), backend_tls_conf(work, p, upstream))
    setup.write(os.path.join(work, "proxy-tls.conf"),
                proxy_tls_conf(work, p, ports["proxy_tls"], ports["backend_tls"]))
    tls_gateway(work, "gw-c", "gw-ct", ports["ct"], ports["ct_admin"], ports["backend_tls_gw"], p)
    tls_gateway(work, "gw-d", "gw-dt", ports["dt"], ports["dt_admin"], ports["backend_tls_gw"], p)
    with open(os.path.join(work, "env.sh"), "a") as f:
        f.write(f"CA_FILE={p['ca']}\n")


if __name__ == "__main__":
    main()
