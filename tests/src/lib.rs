//! Shared helpers for the cross-crate tests and the benchmark harness.

/// A small seeded generator (SplitMix64): simulations and crash tests print their seed so any failure
/// can be replayed exactly.
#[derive(Debug, Clone)]
pub struct SplitMix {
    state: u64,
}

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }
}

/// A seed that differs from run to run, for tests that print it.
pub fn seed_from_clock() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// A folder of the third-party test data in `../shared/data`, or `None` (saying so) when it is absent.
pub fn shared_data(folder: &str) -> Option<std::path::PathBuf> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(folder);
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} is not present", dir.display());
        None
    }
}

/// Whether an external program runs. Tests that compare against one skip without it, saying so, unless
/// `RECTIFY_REQUIRE_TOOLS=1` (set by `scripts/test-all.sh`, which installs them) makes that a failure.
pub fn have_tool(program: &str, version_arg: &str) -> bool {
    let runs = std::process::Command::new(program)
        .arg(version_arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !runs {
        assert!(
            std::env::var("RECTIFY_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{program} is required (RECTIFY_REQUIRE_TOOLS=1) but does not run"
        );
        println!("skipped: {program} is not installed");
    }
    runs
}

/// Every file under `dir`, sorted, recursively.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

pub mod fuzz;
pub mod inproc;
pub mod invariants;
pub mod objects;
pub mod office;
pub mod postgres;
pub mod web;
