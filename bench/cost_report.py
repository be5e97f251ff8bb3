"""The Markdown section of bench/cost.sh: what an upload costs, and each goal of issue 15.

python3 bench/cost_report.py COST.jsonl CRC.json DATE LOAD MIB CONCURRENCY ROUNDS
"""

import json
import statistics
import sys

CURL = "curl -T (one presigned PUT)"
ROWS = [CURL, "oss-direct, 8 MiB parts", "oss-direct, 1 MiB parts", "oss-direct, one PutObject (--simple)"]
PART_MIB = {"oss-direct, 8 MiB parts": 8, "oss-direct, 1 MiB parts": 1}


def medians(runs):
    """Per row label: the median of each figure over the rounds, per GiB where it is a cost."""
    out = {}
    for label in ROWS:
        mine = [r for r in runs if r["label"] == label]
        if not mine:
            continue
        gib = mine[0]["bytes"] / 2**30
        out[label] = {
            "client": statistics.median(r["client_cpu_s"] for r in mine) / gib,
            "server": statistics.median(r["server_cpu_s"] for r in mine) / gib,
            "rss_mib": max(r["rss_kib"] for r in mine) / 1024,
            "mbps": statistics.median(r["bytes"] / r["seconds"] / 1e6 for r in mine),
            "n": len(mine),
        }
    return out


def paired_ratios(runs):
    """Per row label: its client CPU over the curl PUT's in the same round, one ratio per round
    (rows are interleaved, so a round's uploads share the machine's load of that moment; the
    median of these ratios is steadier than a ratio of medians taken over different moments)."""
    curl = [r["client_cpu_s"] for r in runs if r["label"] == CURL]
    out = {}
    for label in ROWS[1:]:
        mine = [r["client_cpu_s"] for r in runs if r["label"] == label]
        ratios = [a / b for a, b in zip(mine, curl) if b > 0]
        if ratios:
            out[label] = ratios
    return out


def ratio_text(ratios):
    """'1.22× (1.05–1.40 over 7 rounds)'."""
    return f"{statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f} over {len(ratios)} rounds)"


def goals(m, flat, crc, conc, paired):
    """(goal, measured, met) for each goal of the issue that this run measured."""
    ok = lambda b: "yes" if b else "**no**"  # noqa: E731
    rows = []
    curl = m.get(CURL)
    for label, part in PART_MIB.items():
        r = m.get(label)
        if not r:
            continue
        if curl and label in paired:
            ratio = statistics.median(paired[label])
            rows.append((f"client CPU per GiB ≤ 1.5× one curl PUT, {part} MiB parts (median of the rounds' ratios)",
                         ratio_text(paired[label]), ok(ratio <= 1.5)))
        cap = 24 + conc * part
        rows.append((f"peak RSS ≤ 24 MiB + {conc} × {part} MiB = {cap} MiB",
                     f"{r['rss_mib']:.0f} MiB", ok(r["rss_mib"] <= cap)))
    if flat:
        first, last = flat["first_quarter_max_kib"] / 1024, flat["last_quarter_max_kib"] / 1024
        cap = 24 + conc * 8
        rows.append((f"RSS flat over a {flat['gib']} GiB upload (8 MiB parts), ≤ {cap} MiB",
                     f"max {flat['max_kib'] / 1024:.0f} MiB; first quarter {first:.0f}, last quarter {last:.0f}",
                     ok(last <= first + 4 and flat["max_kib"] / 1024 <= cap)))
    if crc:
        g = crc.get("crc64_hot_median", crc["crc64_checksum_median"])
        rows.append(("CRC-64 ≥ 20 GB/s (x86-64 here; data in the CPU's cache, as in an upload)",
                     f"{g:.1f} GB/s", ok(g >= 20)))
    # The issue measured oss-local in its own setup (8 MiB parts, 5 at once): that row is the
    # goal; the others are shown against the same line, for reference.
    for label in ROWS:
        r = m.get(label)
        if r:
            setup = label == "oss-direct, 8 MiB parts"
            what = "the issue's setup" if setup else "for reference, not the issue's setup"
            rows.append((f"oss-local ≤ 2.5 CPU-s per GiB received ({label}: {what})",
                         f"{r['server']:.2f} s/GiB",
                         ok(r["server"] <= 2.5) if setup else ("under" if r["server"] <= 2.5 else "over")))
    a, b = m.get("oss-direct, 1 MiB parts"), m.get("oss-direct, 8 MiB parts")
    if a and b:
        share = a["mbps"] / b["mbps"]
        rows.append(("throughput with 1 MiB parts ≥ 80 % of 8 MiB parts",
                     f"{share:.0%} ({a['mbps']:.0f} vs {b['mbps']:.0f} MB/s)", ok(share >= 0.8)))
    return rows


def main():
    res, crc_path, date, load, mib, conc, rounds = sys.argv[1:]
    conc = int(conc)
    runs = [json.loads(x) for x in open(res) if x.strip()]
    flat = next((r for r in runs if r["label"] == "flat"), None)
    try:
        crc = json.loads(open(crc_path).read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        crc = None
    m = medians([r for r in runs if r["label"] != "flat"])
    paired = paired_ratios([r for r in runs if r["label"] != "flat"])
    p = print
    p("### What an upload costs (issue 15)")
    p()
    p(f"Made by `bash bench/cost.sh` (also part of `make bench`). Run {date} on the same machine, load "
      f"average {load} at the start (2 shared virtual cores: the ratios within this table are the steadier "
      f"figures, not the absolute MB/s). One random {mib} MiB file on /dev/shm "
      f"to a release oss-local (data on /dev/shm), one uncounted warm-up upload, then concurrency "
      f"{conc}, {rounds} interleaved rounds, "
      "medians (peak RSS: the highest; × curl: the median of each round's ratio to that round's curl PUT, "
      "with their range). CPU = user + system of the client process (getrusage, `bench/rusage.py`); "
      "oss-local's from `/proc/<pid>/stat`.")
    p()
    p("| client | client CPU-s / GiB | × curl | peak RSS | oss-local CPU-s / GiB | MB/s |")
    p("|---|---:|---:|---:|---:|---:|")
    curl = m.get(CURL)
    for label in ROWS:
        r = m.get(label)
        if not r:
            continue
        x = ratio_text(paired[label]) if label in paired else ("1.00×" if label == CURL else "")
        p(f"| {label} | {r['client']:.2f} | {x} | {r['rss_mib']:.0f} MiB | {r['server']:.2f} | {r['mbps']:.0f} |")
    p()
    p("| goal (issue 15) | measured | met |")
    p("|---|---|---|")
    for g, v, k in goals(m, flat, crc, conc, paired):
        p(f"| {g} | {v} | {k} |")
    p()
    if crc:
        p(f"CRC-64 here (`bench/crc64`, median of {crc['rounds']}): "
          f"{crc.get('crc64_hot_median', 0):.1f} GB/s on a 256 KiB piece in the CPU's cache (what an upload "
          f"does: the CRC of each piece right after reading it), {crc['crc64_checksum_median']:.1f} GB/s "
          f"streaming a {crc['buffer_mib']} MiB buffer from memory (memory copy of it: "
          f"{crc['memcpy_median']:.1f} GB/s), against MD5 {crc.get('md5_openssl_median', 0):.2f} GB/s with OpenSSL (what oss-local "
          f"uses) and {crc['md5_median']:.2f} GB/s with `md-5` (`asm`). "
          "On aarch64 (the phone) `crc-fast` uses its own PMULL kernels; not measured on this x86-64 "
          "machine. CRC combination is `crc-fast`'s"
          + (f"; the whole-object CRC of 512 parts of 1 MiB takes {crc['combine_512_ms']:.1f} ms as one "
             f"combination per part and {crc['combine_all_512_ms']:.1f} ms by `crc64::combine_all` (a table "
             "built once from 65 of the crate's combinations, applied per part)" if "combine_all_512_ms" in crc else "")
          + ".")


if __name__ == "__main__":
    main()
