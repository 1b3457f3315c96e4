//! Replays every fuzz target's committed corpus (`fuzz/corpus/<target>/`) through the same
//! entry points the fuzzers drive (`yiwang_store::fuzzing`): inputs a fuzzer found
//! interesting once stay covered by every test run, without the fuzzing toolchain.

#[test]
fn every_corpus_replays_without_a_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (name, target) in yiwang_store::fuzzing::TARGETS {
        let dir = root.join(name);
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the corpus of {name} at {}: {e}", dir.display()))
            .map(|e| e.expect("a corpus entry").path())
            .collect();
        assert!(!files.is_empty(), "the corpus of {name} is empty");
        for f in files {
            let data = std::fs::read(&f).expect("a corpus file");
            target(&data);
        }
    }
}
