//! The resumable upload's checkpoint file: `Checkpoint` deserialised from arbitrary bytes, then
//! `mismatch` against the stamp it names and another one; a parsed checkpoint serialises back to
//! an equal value; and `CheckpointStore::load` on the bytes written where a checkpoint lives
//! reports Missing/Found/Corrupt, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oss_direct::checkpoint::{Checkpoint, CheckpointStore, FileStamp, Loaded};
use std::path::Path;
use std::sync::OnceLock;

fn store() -> &'static (tempfile::TempDir, CheckpointStore) {
    static S: OnceLock<(tempfile::TempDir, CheckpointStore)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = CheckpointStore::new(dir.path().join("checkpoints"));
        std::fs::create_dir_all(store.dir()).expect("checkpoint dir");
        (dir, store)
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = serde_json::from_slice::<Checkpoint>(data) {
        assert_eq!(c.mismatch(c.stamp, c.part_size), None);
        let other = FileStamp {
            size: c.stamp.size.wrapping_add(1),
            mtime_ns: c.stamp.mtime_ns,
        };
        assert!(c.mismatch(other, c.part_size).is_some());
        let _ = c.mismatch(
            FileStamp {
                size: c.stamp.size,
                mtime_ns: c.stamp.mtime_ns ^ 1,
            },
            c.part_size.wrapping_mul(2).wrapping_add(1),
        );
        let back = serde_json::to_vec(&c).expect("a checkpoint serializes");
        let again: Checkpoint = serde_json::from_slice(&back).expect("and reads back");
        assert_eq!(again, c);
    }
    // The same bytes where the store looks for the checkpoint of one upload.
    let (_dir, store) = store();
    let (bucket, key, file) = ("b", "uploads/k", Path::new("/tmp/f.bin"));
    let path = store.path_for(bucket, key, file);
    std::fs::write(&path, data).expect("write checkpoint");
    match store.load(bucket, key, file) {
        Loaded::Found(c) => {
            assert_eq!((c.bucket.as_str(), c.key.as_str()), (bucket, key));
            assert_eq!(c.file, file);
            assert!(!c.upload_id.is_empty());
        }
        Loaded::Corrupt(why) => assert!(!why.is_empty()),
        Loaded::Missing => panic!("the file is there"),
    }
    let _ = store.list();
});
