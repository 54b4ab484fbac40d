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
            // A real (small) photo, different every round, so each one is decoded and stored anew.
            let seed = u32::try_from(round % u64::from(u32::MAX)).unwrap_or(0) ^ std::process::id();
            std::fs::write(&photo, rectify_core::photo::synthetic::jpeg(160, 120, seed, 85, None))?;
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
