//! A short, deterministic run of the RDB fuzzer in every `cargo test`: golden
//! files mutated a few thousand times, every fuzz invariant checked
//! (`tandem_core::rdb::fuzz::check`). The long runs use
//! `core/examples/fuzz_rdb.rs`.

use std::path::PathBuf;
use tandem_core::rdb::fuzz;
use tandem_core::rng::Rng;

#[test]
fn mutated_golden_files_never_break_an_invariant() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/rdb/golden");
    let mut corpus: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("golden files")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "rdb"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    corpus.sort();
    assert_eq!(corpus.len(), 16);
    // Every seed itself satisfies the invariants.
    for (i, c) in corpus.iter().enumerate() {
        fuzz::check(c, i as u64);
    }
    let mut rng = Rng::new(20_261_126);
    for _ in 0..1000 {
        let input = fuzz::mutate(&mut rng, &corpus);
        let split = rng.next_u64();
        fuzz::check(&input, split);
    }
}
