//! A child process for the crash-safety test: records issues, comments and photos into a ledger as fast as
//! it can and prints `ack <issue> <events>` after each commit. The test kills it with SIGKILL at random
//! moments and checks that every acknowledged write survived whole.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use rectify_core::clock::SystemClock;
use rectify_core::ledger::{Command, Ledger, NewReport};
use rectify_core::store::OpenMode;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let db = PathBuf::from(args.next().ok_or("usage: crash-writer DB VILLAGE_CODE SCRATCH_DIR")?);
    let village = args.next().ok_or("missing village code")?;
    let scratch = PathBuf::from(args.next().ok_or("missing scratch folder")?);
    let ledger = Ledger::open(&db, OpenMode::MustExist, Arc::new(SystemClock))?;
    let stdout = std::io::stdout();
    let mut last = None;
    for round in 0u64.. {
        let photos = if round % 3 == 0 {
            let photo = scratch.join(format!("p{}-{round}.jpg", std::process::id()));
            let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
            bytes.extend_from_slice(&round.to_le_bytes());
            bytes.extend(std::iter::repeat_n(0xAB, 4096));
            std::fs::write(&photo, bytes)?;
            vec![photo]
        } else {
            Vec::new()
        };
        let state = match last {
            Some(issue) if round % 2 == 1 => ledger.act(issue, &Command::Comment { text: format!("round {round}") })?,
            _ => ledger.report(&NewReport {
                category: "waste.accumulated".into(),
                village_code: Some(village.clone()),
                lat: 36.46,
                lon: 120.51,
                note: Some(format!("burst write {round}")),
                photos,
                ..NewReport::default()
            })?,
        };
        last = Some(state.id);
        let mut out = stdout.lock();
        writeln!(out, "ack {} {}", state.id, state.event_count)?;
        out.flush()?;
    }
    Ok(())
}
