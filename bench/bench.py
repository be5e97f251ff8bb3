"""The Python side of bench/run.sh: official-SDK clients, the resume measurement, the report.

Run by bench/run.sh with the venv's python (oss2, alibabacloud-oss-v2). Subcommands:

  oss2 FILE KEY        oss2.resumable_upload with StsAuth (token from --server); --no-crc
                       sets enable_crc=False on the Bucket; --store DIR keeps its checkpoint there
  v2 FILE KEY          alibabacloud-oss-v2's uploader (V4, STS credentials)
  presign-put KEY      prints an oss2 presigned PUT URL (for curl -T)
  delete KEY...        deletes objects (with the demo RAM user's long-term key: cleanup only)
  resume oss-direct|oss2 FILE KEY
                       the upload through a counting loopback proxy, SIGKILLed once half the
                       file's bytes went through, then run again; prints bytes sent / file size
  tokenload URL        requests/s and p99 of GET URL (fallback when wrk is missing)
  report RESULTS.jsonl prints the Markdown tables

Upload subcommands print one JSON line: {"seconds": upload time, "bytes": file size}. The time
covers the upload call only (not the interpreter's start-up or the token fetch), like the
"seconds" of `oss-direct upload --json`.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

BUCKET = "demo-bucket"
DEMO_AK = "LTAI5tLocalDemoKey"  # oss-local's public demo account (cleanup only)
DEMO_SECRET = "LocalDemoSecret"


def fetch_token(server):
    with urllib.request.urlopen(server, timeout=30) as r:
        t = json.loads(r.read())
    if t.get("StatusCode") not in (200, "200"):
        sys.exit(f"token server answered {t}")
    return t


def oss2_bucket(server, endpoint=None, enable_crc=True):
    import oss2

    t = fetch_token(server)
    auth = oss2.StsAuth(t["AccessKeyId"], t["AccessKeySecret"], t["SecurityToken"])
    return oss2.Bucket(auth, endpoint or t["Endpoint"], t.get("Bucket", BUCKET), enable_crc=enable_crc)


def cmd_oss2(a):
    import oss2

    bucket = oss2_bucket(a.server, a.endpoint, enable_crc=not a.no_crc)
    store = oss2.ResumableStore(root=a.store) if a.store else None
    size = os.path.getsize(a.file)
    started = time.perf_counter()
    oss2.resumable_upload(
        bucket, a.key, a.file, store=store,
        multipart_threshold=a.part_size, part_size=a.part_size, num_threads=a.concurrency,
    )
    print(json.dumps({"seconds": time.perf_counter() - started, "bytes": size}), flush=True)


def cmd_v2(a):
    import alibabacloud_oss_v2 as oss

    t = fetch_token(a.server)
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        t["AccessKeyId"], t["AccessKeySecret"], t["SecurityToken"])
    cfg.region = t.get("Region", "cn-hangzhou")
    cfg.endpoint = a.endpoint or t["Endpoint"]
    cfg.signature_version = "v4"
    client = oss.Client(cfg)
    size = os.path.getsize(a.file)
    up = client.uploader(part_size=a.part_size, parallel_num=a.concurrency)
    started = time.perf_counter()
    up.upload_file(oss.PutObjectRequest(bucket=t.get("Bucket", BUCKET), key=a.key), filepath=a.file)
    print(json.dumps({"seconds": time.perf_counter() - started, "bytes": size}), flush=True)


def cmd_presign_put(a):
    print(oss2_bucket(a.server).sign_url("PUT", a.key, 3600))


def cmd_delete(a):
    import oss2

    bucket = oss2.Bucket(oss2.Auth(DEMO_AK, DEMO_SECRET), a.endpoint, BUCKET)
    for k in a.keys:
        bucket.delete_object(k)


# ---------------------------------------------------------------- resume through a counting proxy

class CountingProxy:
    """A loopback TCP proxy counting the bytes clients send to the server (requests + bodies)."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.sent = 0
        self.loop = asyncio.new_event_loop()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.sock = sock
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._conn, sock=self.sock))
        self.loop.run_until_complete(server.serve_forever())

    async def _pipe(self, reader, writer, count):
        try:
            while True:
                data = await reader.read(256 * 1024)
                if not data:
                    break
                if count:
                    self.sent += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def _conn(self, client_r, client_w):
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(self._pipe(client_r, up_w, True), self._pipe(up_r, client_w, False))


def cmd_resume(a):
    size = os.path.getsize(a.file)
    upstream = int(a.oss_endpoint.rsplit(":", 1)[1].strip("/"))
    proxy = CountingProxy(upstream)
    endpoint = f"http://127.0.0.1:{proxy.port}"
    if a.client == "oss-direct":
        cmd = [a.cli, "upload", a.file, "--server", a.server, "--endpoint", endpoint, "--key", a.key,
               "--resumable", "--part-size", str(a.part_size), "--concurrency", str(a.concurrency),
               "--checkpoint-dir", a.store, "--state-dir", a.store, "--json"]
    else:
        cmd = [sys.executable, os.path.abspath(__file__), "oss2", a.file, a.key, "--server", a.server,
               "--endpoint", endpoint, "--part-size", str(a.part_size),
               "--concurrency", str(a.concurrency), "--store", a.store]

    # First run: SIGKILL once half of the file went through the proxy (or after the time limit).
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + a.timeout
    while first.poll() is None and proxy.sent < size / 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    killed_at = proxy.sent
    if first.poll() is None:
        first.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(0.3)  # let the proxy drain what was already in flight
    first_sent = proxy.sent

    # Second run: the same command.
    try:
        second = subprocess.run(cmd, capture_output=True, timeout=a.timeout, text=True)
    except subprocess.TimeoutExpired:
        sys.exit(f"resume of {a.client} did not finish in {a.timeout} s")
    if second.returncode != 0:
        sys.exit(f"resume of {a.client} failed: {second.stderr.strip()[-500:]}")
    time.sleep(0.2)
    # The CLI prints one line per file, then a summary line: the file's line is the one with "key".
    lines = [json.loads(x) for x in second.stdout.strip().splitlines() if x.strip()]
    out = next((x for x in lines if "key" in x), lines[-1])
    result = {
        "bytes": size, "killed_at_bytes": killed_at, "first_run_sent": first_sent,
        "second_run_sent": proxy.sent - first_sent, "total_sent": proxy.sent,
        "ratio": proxy.sent / size, "second_run_seconds": out.get("seconds"),
    }
    for k in ("resumed_parts", "uploaded_parts", "restarted"):
        if k in out:
            result[k] = out[k]
    print(json.dumps(result), flush=True)


# ------------------------------------------------------------------------------- token server load

def cmd_tokenload(a):
    """Fallback when wrk is missing: N threads, each a keep-alive connection, bounded in time."""
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(a.url)
    lat, lock = [], threading.Lock()
    stop = time.monotonic() + a.duration

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        mine = []
        while time.monotonic() < stop and len(mine) < a.max_requests:
            t = time.perf_counter()
            conn.request("GET", u.path or "/")
            r = conn.getresponse()
            r.read()
            mine.append(time.perf_counter() - t)
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(a.connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    lat.sort()
    print(json.dumps({"rps": len(lat) / elapsed, "p50_ms": lat[len(lat) // 2] * 1000,
                      "p99_ms": lat[int(len(lat) * 0.99)] * 1000, "requests": len(lat),
                      "tool": "python (wrk missing)"}))


# ------------------------------------------------------------------------------------------ report

def mbps(r):
    return r["bytes"] / r["seconds"] / 1e6


STATIC_NOTES = [
    "Signatures: oss-direct V4 (its default), oss2 V1 (its default, `StsAuth`), alibabacloud-oss-v2 V4, curl a V1 presigned URL from oss2's `sign_url`. Every client uses an STS token from the app-token-server.",
    'The multipart clients pay for a request per part and CompleteMultipartUpload, in which oss-local moves the (already synced) parts into place as the object\'s segments, without copying them (since issue 15; they are joined into one file by the first read); one PUT does not. oss-local also computes MD5 and CRC-64 of every body it receives.',
    "Max RSS and client CPU are the whole client process (for oss2 and alibabacloud-oss-v2 including the Python interpreter's start-up and the SDK's imports), from /usr/bin/time -v. The four parallel curl processes are not measured one by one: their CPU is in *other CPU s*.",
    "Resume: the client is SIGKILLed (no chance to save anything) once half the file's bytes went through a counting loopback proxy in front of oss-local; the same command is then run again. Bytes sent count everything the client wrote to the server (request lines, headers, bodies) in both runs, including the parts that were in flight when it was killed.",
    "Token server: wrk runs on the same CPUs as app-token-server (and, with the cache off, oss-local's STS, which signs and checks every AssumeRole), so these are lower bounds for a dedicated machine.",
]


def cmd_report(a):
    rows = [json.loads(line) for line in open(a.results) if line.strip()]
    by = {}
    for r in rows:
        by.setdefault(r["kind"], []).append(r)
    meta = by["meta"][0]
    out = []
    p = out.append
    p("# oss-direct benchmarks")
    p("")
    p("Made by `bash bench/run.sh` (see bench/README.md for what is measured and how).")
    p("")
    p(f"Run {meta['date']} on {meta['machine']}.  ")
    p(f"Source: {meta.get('source', 'unknown')}. Versions: {meta['versions']}.  ")
    p(f"All clients upload the same random file from /dev/shm to one release `oss-local --demo` "
      f"(data dir on /dev/shm) over loopback, part size {meta['part_size'] // 2**20} MiB, "
      f"concurrency {meta['concurrency']}, one run each. MB/s = 10^6 bytes/s of the upload call.")
    p("")
    sizes = sorted({r["label"] for r in by.get("upload", [])}, key=lambda s: int(s.split()[0]) * (1024 if "GiB" in s else 1))
    clients = []
    for r in by.get("upload", []):
        if r["client"] not in clients:
            clients.append(r["client"])
    big = sizes[-1] if sizes else ""
    p("### Upload throughput, CPU and peak memory")
    p("")
    p("| client | " + " | ".join(f"{s} MB/s" for s in sizes)
      + f" | {big}: client CPU s | {big}: oss-local CPU s | {big}: other CPU s | {big}: client max RSS |")
    p("|---|" + "---:|" * (len(sizes) + 4))
    for c in clients:
        cells = []
        tail = ["", "", "", ""]
        for s in sizes:
            r = next((x for x in by["upload"] if x["client"] == c and x["label"] == s), None)
            if r is None or r.get("error"):
                cells.append("failed" if r else "")
                continue
            cells.append(f"{mbps(r):.0f} ({r['seconds']:.2f} s)")
            if s == big:
                if r.get("client_cpu_s") is not None:
                    tail[0] = f"{r['client_cpu_s']:.2f}"
                if r.get("server_cpu_s") is not None:
                    tail[1] = f"{r['server_cpu_s']:.2f}"
                if r.get("machine_cpu_s") is not None and r.get("server_cpu_s") is not None:
                    other = r["machine_cpu_s"] - r["server_cpu_s"] - (r.get("client_cpu_s") or 0)
                    tail[2] = f"{max(other, 0):.2f}"
                if r.get("max_rss_kb"):
                    tail[3] = f"{r['max_rss_kb'] / 1024:.0f} MiB"
        p(f"| {c} | " + " | ".join(cells + tail) + " |")
    p("")
    if by.get("resume"):
        p(f"### Resume cost ({by['resume'][0].get('bytes', 0) / 2**20:.0f} MiB file, SIGKILL at about half, then the same command again)")
        p("")
        p("| client | killed after | sent before kill | sent on resume | total sent / file size | parts reused |")
        p("|---|---:|---:|---:|---:|---|")
        for r in by["resume"]:
            if r.get("error"):
                p(f"| {r['client']} | failed: {r['error']} | | | | |")
                continue
            reused = (f"{r['resumed_parts']} reused, {r['uploaded_parts']} sent"
                      if "resumed_parts" in r else "(oss2 does not say)")
            p(f"| {r['client']} | {r['killed_at_bytes'] / 2**20:.0f} MiB | {r['first_run_sent'] / 2**20:.0f} MiB "
              f"| {r['second_run_sent'] / 2**20:.0f} MiB | **{r['ratio']:.3f}** | {reused} |")
        p("")
    if by.get("profile"):
        p("### Where the CPU goes (perf, separate runs, top symbols by samples)")
        p("")
        p("| process | top symbols |")
        p("|---|---|")
        for r in by["profile"]:
            p(f"| {r['label']} | " + "<br>".join(f"{pc:.1f}% `{sym}`" for pc, sym in r["top"]) + " |")
        p("")
    if by.get("token"):
        p("### Token server (`GET /`, loopback, second process)")
        p("")
        p("| TokenCache | requests/s | p50 | p99 | requests | errors | tool |")
        p("|---|---:|---:|---:|---:|---:|---|")
        for r in by["token"]:
            p(f"| {r['cache']} | {r['rps']:.0f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms "
              f"| {r['requests']} | {r.get('errors', 0)} | {r['tool']} |")
        p("")
    if by.get("crc"):
        r = by["crc"][0]
        p(f"### CRC-64 (`oss_direct::crc64`, {r['buffer_mib']} MiB buffer, best / median of {r['rounds']})")
        p("")
        p("| what | GB/s best | GB/s median |")
        p("|---|---:|---:|")
        p(f"| memory copy (`copy_from_slice`) | {r['memcpy_best']:.2f} | {r['memcpy_median']:.2f} |")
        p(f"| `crc64::checksum` | {r['crc64_checksum_best']:.2f} | {r['crc64_checksum_median']:.2f} |")
        p(f"| `Crc64Hasher::update`, 1 MiB pieces | {r['crc64_hasher_1mib_best']:.2f} | {r['crc64_hasher_1mib_median']:.2f} |")
        if "crc64_hot_best" in r:
            p(f"| `crc64::checksum` of one 256 KiB piece again and again (in the CPU's cache, as in an upload) | "
              f"{r['crc64_hot_best']:.2f} | {r['crc64_hot_median']:.2f} |")
        if "crc_table16_best" in r:
            p(f"| for comparison, not the library: `crc::Crc::<u64, Table<16>>` (slice-by-16), same CRC | "
              f"{r['crc_table16_best']:.2f} | {r['crc_table16_median']:.2f} |")
        if "md5_openssl_best" in r:
            p(f"| for scale: MD5 with OpenSSL (what oss-local computes per body it receives) | "
              f"{r['md5_openssl_best']:.2f} | {r['md5_openssl_median']:.2f} |")
        if "md5_best" in r:
            p(f"| for scale: MD5 with `md-5` and its `asm` feature (oss-local's fallback) | "
              f"{r['md5_best']:.2f} | {r['md5_median']:.2f} |")
        p("")
    p("### Notes")
    p("")
    for s in sizes:
        ok = [x for x in by["upload"] if x["label"] == s and not x.get("error")]
        curls = [x for x in ok if x["client"].startswith("curl")]
        others = [x for x in ok if not x["client"].startswith("curl")]
        if curls and others:
            best = max(others, key=mbps)
            ceiling = max(curls, key=mbps)
            ratio = mbps(ceiling) / mbps(best)
            verdict = ("the fastest client is within 25% of what oss-local takes without multipart, "
                       "so oss-local is the ceiling" if ratio < 1.25 else
                       "oss-local can take more than the fastest client sends, though client and "
                       "server share the same cores (see below)")
            p(f"- {s}: the best bare PUTs ({ceiling['client']}) reach {mbps(ceiling):.0f} MB/s, "
              f"{ratio:.2f}x the fastest multipart client ({best['client']}, {mbps(best):.0f} MB/s): "
              f"{verdict}.")
    big_ok = [x for x in by.get("upload", []) if x["label"] == big and not x.get("error")
              and x.get("server_cpu_s")]
    if big_ok:
        per_gib = statistics.median(x["server_cpu_s"] / (x["bytes"] / 2**30) for x in big_ok)
        p(f"- oss-local needs about {per_gib:.1f} CPU-seconds per GiB it receives (median over the {big} "
          f"runs), so one core of it takes at most ~{2**30 / per_gib / 1e6:.0f} MB/s; with {meta.get('nproc', 2)} "
          f"cores shared with the client, a client costing C CPU-s/GiB can reach at most "
          f"{meta.get('nproc', 2)} x 1074 MB / ({per_gib:.1f} + C) s.")
        others = [x for x in big_ok if x.get("machine_cpu_s") is not None and x.get("client_cpu_s") is not None]
        if others:
            busy = max((x["machine_cpu_s"] - x["server_cpu_s"] - (x.get("client_cpu_s") or 0))
                       / max(x.get("window_s", x["seconds"]) * meta.get("nproc", 2), 1e-9) for x in others)
            if busy > 0.2:
                p(f"  - Other work on the machine took up to {busy:.0%} of all CPU while a {big} upload ran "
                  "(column *other CPU s*): the absolute MB/s of this run are lower than a quiet machine "
                  "gives; the CPU seconds per client are the steadier numbers.")
        for x in big_ok:
            if x.get("client_cpu_s") is not None:
                share = x["server_cpu_s"] / (x["server_cpu_s"] + x["client_cpu_s"])
                p(f"  - {x['client']}: oss-local is {share:.0%} of the CPU the upload costs "
                  f"({x['server_cpu_s']:.1f} s server, {x['client_cpu_s']:.1f} s client).")
    for r in by.get("profile", []):
        hashing = sum(pc for pc, sym in r["top"] if "crc" in sym.lower() or "md5" in sym.lower())
        syms = [sym for _, sym in r["top"]]
        if r["label"].startswith("oss-local") and hashing:
            p(f"- Where oss-local's time goes (perf): {hashing:.0f}% of its samples are CRC-64 and MD5 of "
              "the bodies it receives (see the CRC-64 table for what each costs), copies and the "
              "kernel the rest; fsync is invisible on tmpfs. MD5 (for the ETag, as OSS must) is the "
              "floor: it runs at well under 1 GB/s, on its own thread beside the CRC and the writes.")
        if r["label"].startswith("the oss-direct CLI") and hashing:
            twice = (any(s.endswith("crc64::checksum") for s in syms)
                     and any(s.endswith("Crc64Hasher::update") for s in syms))
            p(f"- Where the oss-direct CLI's time goes (perf): {hashing:.0f}% of its samples are CRC-64"
              + (" — computed twice per part: `crc64::checksum` of the part before sending it, and "
                 "`Crc64Hasher::update` again on the same bytes while the body streams out" if twice else "")
              + ".")
    for line in STATIC_NOTES + (a.note or []):
        p(f"- {line}")
    p("")
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def upload_args(s):
        s.add_argument("file")
        s.add_argument("key")
        s.add_argument("--server", required=True)
        s.add_argument("--endpoint", help="OSS endpoint (default: the token server's hint)")
        s.add_argument("--part-size", type=int, default=8 * 2**20)
        s.add_argument("--concurrency", type=int, default=4)

    s = sub.add_parser("oss2")
    upload_args(s)
    s.add_argument("--no-crc", action="store_true")
    s.add_argument("--store", help="oss2.ResumableStore root")
    s.set_defaults(f=cmd_oss2)
    s = sub.add_parser("v2")
    upload_args(s)
    s.set_defaults(f=cmd_v2)
    s = sub.add_parser("presign-put")
    s.add_argument("key")
    s.add_argument("--server", required=True)
    s.set_defaults(f=cmd_presign_put)
    s = sub.add_parser("delete")
    s.add_argument("keys", nargs="+")
    s.add_argument("--endpoint", required=True)
    s.set_defaults(f=cmd_delete)
    s = sub.add_parser("resume")
    s.add_argument("client", choices=["oss-direct", "oss2"])
    upload_args(s)
    s.add_argument("--oss-endpoint", required=True, help="oss-local's real endpoint (proxied)")
    s.add_argument("--cli", help="the oss-direct binary")
    s.add_argument("--store", required=True, help="checkpoint folder")
    s.add_argument("--timeout", type=float, default=300)
    s.set_defaults(f=cmd_resume)
    s = sub.add_parser("tokenload")
    s.add_argument("url")
    s.add_argument("--duration", type=float, default=10)
    s.add_argument("--connections", type=int, default=16)
    s.add_argument("--max-requests", type=int, default=200000)
    s.set_defaults(f=cmd_tokenload)
    s = sub.add_parser("report")
    s.add_argument("results")
    s.add_argument("--note", action="append", help="a line for the Notes (repeatable)")
    s.set_defaults(f=cmd_report)
    a = ap.parse_args()
    a.f(a)


if __name__ == "__main__":
    main()
