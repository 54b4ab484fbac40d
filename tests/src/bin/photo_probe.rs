//! A child process for the photo memory test: ingests one file into a fresh device ledger in a folder
//! and prints the outcome, so its peak memory can be measured alone (`bench __measure photo-probe ...`).

use std::path::PathBuf;
use std::sync::Arc;

use rectify_core::clock::SystemClock;
use rectify_core::domain::role::Role;
use rectify_core::ledger::Ledger;
use rectify_core::store::OpenMode;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(PathBuf::from);
    let (Some(dir), Some(file)) = (args.next(), args.next()) else {
        return Err("usage: photo-probe DIR FILE".into());
    };
    let ledger = Ledger::open(&dir.join("probe.db"), OpenMode::CreateIfMissing, Arc::new(SystemClock))?;
    ledger.init("probe", Role::Inspector, &[])?;
    match ledger.ingest_photo(&file) {
        Ok(report) => println!("{}", serde_json::json!({"stored": report.photo.hash})),
        Err(err) => println!("{}", serde_json::json!({"refused": err.to_string()})),
    }
    Ok(())
}
