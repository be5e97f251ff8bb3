//! CRC-64/XZ throughput of `oss_direct::crc64` against a plain memory copy of the same buffer.
//!
//! `oss-direct-crc64-bench [MiB] [rounds]` (default 256 MiB, 5 rounds) prints one JSON line:
//! the best and median GB/s (10^9 bytes per second) of
//! - `memcpy`: `copy_from_slice` of the buffer into another one (the memory bandwidth ceiling),
//! - `crc64_checksum`: `oss_direct::crc64::checksum` over the whole buffer,
//! - `crc64_hasher_1mib`: `Crc64Hasher::update` fed 1 MiB at a time (as an upload streams a file),
//! - `crc_table16`: NOT the library: the same CRC-64/XZ with the `crc` crate's `Table<16>`
//!   (slice-by-16) instead of the default `Crc<u64>` (one table, a byte at a time), to show what
//!   choosing that implementation would give,
//! - `crc64_hot`: `crc64::checksum` over one 256 KiB piece of the buffer again and again (the
//!   same number of bytes in all): the kernel's own speed with the data in the CPU's cache, as
//!   in an upload, which takes the CRC of each piece right after reading it from the file,
//! - `md5`: MD5 (`md-5` with its `asm` feature) and `md5_openssl`: OpenSSL's MD5, which
//!   oss-local uses for every body it receives (the ETag; `md-5` is its fallback), for scale,
//! - `combine_512_ms` / `combine_all_512_ms` (milliseconds, median): the whole-object CRC of a
//!   512-part upload of 1 MiB parts from the parts' CRCs, by one `crc64::combine` per part and
//!   by `crc64::combine_all` (what oss-local's CompleteMultipartUpload and the client use).

use crc::{Crc, Table, CRC_64_XZ};
use oss_direct::crc64::{checksum, combine, combine_all, Crc64Hasher};
use std::hint::black_box;
use std::time::Instant;

fn gbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e9
}

/// Runs `f` `rounds` times and returns (best, median) GB/s.
fn measure(bytes: usize, rounds: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut speeds: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            gbps(bytes, t.elapsed().as_secs_f64())
        })
        .collect();
    speeds.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    (speeds[rounds - 1], speeds[rounds / 2])
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args
        .next()
        .map_or(256, |a| a.parse().expect("MiB: a number"));
    let rounds: usize = args
        .next()
        .map_or(5, |a| a.parse().expect("rounds: a number"));
    assert!(rounds > 0);
    let len = mib * 1024 * 1024;

    // Pseudo-random contents (xorshift), so nothing is special about the bytes.
    let mut src = vec![0u8; len];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for chunk in src.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let mut dst = vec![1u8; len]; // touched, so page faults are not timed

    let memcpy = measure(len, rounds, || {
        dst.copy_from_slice(black_box(&src));
        black_box(&dst);
    });
    let mut whole = 0;
    let crc = measure(len, rounds, || whole = black_box(checksum(black_box(&src))));
    let mut streamed = 0;
    let hasher = measure(len, rounds, || {
        let mut h = Crc64Hasher::new();
        for c in black_box(&src).chunks(1024 * 1024) {
            h.update(c);
        }
        streamed = black_box(h.finish());
    });
    assert_eq!(whole, streamed, "both ways give the same CRC");
    let piece = &src[..256 * 1024];
    let hot = measure(len, rounds, || {
        for _ in 0..len / piece.len() {
            black_box(checksum(black_box(piece)));
        }
    });
    let table16: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_XZ);
    let mut sliced = 0;
    let t16 = measure(len, rounds, || {
        sliced = black_box(table16.checksum(black_box(&src)))
    });
    assert_eq!(whole, sliced, "slice-by-16 gives the same CRC");
    let md5 = measure(len, rounds, || {
        use md5::Digest;
        black_box(md5::Md5::digest(black_box(&src)));
    });
    let md5_openssl = measure(len, rounds, || {
        let digest = openssl::hash::MessageDigest::md5();
        black_box(openssl::hash::hash(digest, black_box(&src)).expect("OpenSSL MD5"));
    });

    let (per_part, all) = combine_ms(rounds);

    println!(
        "{{\"buffer_mib\":{mib},\"rounds\":{rounds},\
         \"memcpy_best\":{:.3},\"memcpy_median\":{:.3},\
         \"crc64_checksum_best\":{:.3},\"crc64_checksum_median\":{:.3},\
         \"crc64_hasher_1mib_best\":{:.3},\"crc64_hasher_1mib_median\":{:.3},\
         \"crc64_hot_best\":{:.3},\"crc64_hot_median\":{:.3},\
         \"crc_table16_best\":{:.3},\"crc_table16_median\":{:.3},\
         \"md5_best\":{:.3},\"md5_median\":{:.3},\
         \"md5_openssl_best\":{:.3},\"md5_openssl_median\":{:.3},\
         \"combine_512_ms\":{per_part:.2},\"combine_all_512_ms\":{all:.2}}}",
        memcpy.0,
        memcpy.1,
        crc.0,
        crc.1,
        hasher.0,
        hasher.1,
        hot.0,
        hot.1,
        t16.0,
        t16.1,
        md5.0,
        md5.1,
        md5_openssl.0,
        md5_openssl.1
    );
}

/// Median milliseconds to combine 512 parts' CRCs (1 MiB each, then a shorter last one): one
/// `combine` per part, and `combine_all`; both must agree.
fn combine_ms(rounds: usize) -> (f64, f64) {
    let parts: Vec<(u64, u64)> = (0..512u64)
        .map(|i| {
            (
                i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                if i == 511 { 12_345 } else { 1 << 20 },
            )
        })
        .collect();
    let time = |f: &dyn Fn() -> u64| {
        let mut ms: Vec<f64> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                black_box(f());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        ms.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        ms[rounds / 2]
    };
    let one_by_one = || parts.iter().fold(0, |crc, &(c, n)| combine(crc, c, n));
    let all = || combine_all(black_box(parts.clone()));
    assert_eq!(one_by_one(), all(), "both ways give the same CRC");
    (time(&one_by_one), time(&all))
}
