//! Every fuzz target over its seeds (captured from real traffic) and over every committed crash in
//! `tests/fuzz/regressions/TARGET/`: none may panic or make the office fail. libFuzzer runs the same
//! functions with coverage (`scripts/fuzz.sh`); this keeps them, and the crashes they found, checked in
//! every `cargo test`.

use rectify_tests::fuzz::{TARGETS, regressions_dir, write_seeds};

#[test]
fn targets_survive_their_seeds_and_every_recorded_crash() {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let seeds = write_seeds(dir.path());
    assert!(seeds >= 15, "only {seeds} seeds were written");
    for (name, target) in TARGETS {
        let mut inputs = rectify_tests::files_under(&dir.path().join(name));
        assert!(!inputs.is_empty(), "{name} has no seeds");
        let seeded = inputs.len();
        let regressions = regressions_dir(name);
        if regressions.is_dir() {
            inputs.extend(rectify_tests::files_under(&regressions));
        }
        for input in &inputs {
            let bytes = std::fs::read(input).unwrap_or_else(|err| panic!("{}: {err}", input.display()));
            println!("{name}: {}", input.display());
            target(&bytes);
        }
        println!("{name}: {seeded} seeds and {} recorded crashes replayed", inputs.len() - seeded);
    }
}
