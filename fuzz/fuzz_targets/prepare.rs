//! Photo preparation (`oss_direct::prepare::prepare_bytes`) on arbitrary bytes with small
//! limits (512 × 512 px, 64 kilopixels, 16 MiB of decoder allocations) and options taken from
//! the first byte: strip, max edge, quality. Besides "no panic, no runaway allocation":
//! a failure is always an `ErrorKind::Image` error; a success reports the sizes it produced;
//! a strip without re-encoding never grows the file; and preparing the output again with strip
//! finds nothing left to remove (no metadata survives, and the output is a valid container).
#![no_main]
use libfuzzer_sys::fuzz_target;
use oss_direct::prepare::{prepare_bytes, PrepareLimits, PrepareOptions};
use oss_direct::ErrorKind;

fn limits() -> PrepareLimits {
    PrepareLimits {
        max_input_bytes: 1 << 20,
        max_width: 512,
        max_height: 512,
        max_pixels: 64 * 1024,
        max_alloc_bytes: 16 << 20,
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, data)) = input.split_first() else {
        return;
    };
    let options = PrepareOptions {
        strip_metadata: flags & 1 != 0,
        max_edge: (flags & 2 != 0).then_some(u32::from(flags >> 4) * 8 + 1),
        quality: (flags & 4 != 0).then_some((flags >> 3).max(1)),
        limits: limits(),
    };
    let out = match prepare_bytes(data, &options) {
        Ok(out) => out,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Image, "{e}");
            return;
        }
    };
    let r = &out.report;
    assert_eq!(r.original_bytes, data.len() as u64);
    let Some(prepared) = &out.data else {
        assert_eq!(r.prepared_bytes, data.len() as u64);
        assert!(!r.changed);
        return;
    };
    assert!(r.changed && r.format.is_some());
    assert_eq!(r.prepared_bytes, prepared.len() as u64);
    if !r.reencoded {
        assert!(options.strip_metadata && prepared.len() <= data.len());
    }
    if options.strip_metadata {
        let strip = PrepareOptions {
            strip_metadata: true,
            limits: limits(),
            ..Default::default()
        };
        let again = prepare_bytes(prepared, &strip).expect("the prepared file prepares again");
        assert!(!again.report.removed.any(), "{:?}", again.report.removed);
        assert!(again.data.is_none(), "a second strip changes nothing");
    }
});
