//! The `photo` suite: `rectify photo ingest` (evidence image, thumbnail, hashes, Exif, database row) as a
//! whole process, against `vipsthumbnail FILE --size 2048 -o out.jpg[Q=80]`, which makes only the
//! evidence image. Both run on the same files in the same run, alternating, each in a fresh process
//! measured by a fresh `bench __measure` process so its peak RSS is that child's alone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use rectify_core::photo::exif::{Capture, Gps, TakenAt};
use rectify_core::photo::synthetic;
use serde_json::{Value, json};

use super::Outcome;

/// Picks one figure out of a [`Cost`].
type Field = fn(&Cost) -> f64;

/// One finished child: wall and CPU time, and its peak resident memory.
#[derive(Debug, Clone, Copy)]
struct Cost {
    wall_ms: f64,
    cpu_ms: f64,
    peak_rss_mb: f64,
}

/// `bench __measure PROGRAM ARGS...`: runs the program, waits, and prints its cost as JSON. Run as its
/// own process so `RUSAGE_CHILDREN` covers exactly one child.
pub fn measure_child(command: &[String]) -> Outcome {
    let (program, args) = command.split_first().ok_or("usage: bench __measure PROGRAM ARGS...")?;
    let start = Instant::now();
    let output = Command::new(program).args(args).output()?;
    let wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)?;
    let millis = |time: nix::sys::time::TimeVal| time.tv_sec() as f64 * 1000.0 + time.tv_usec() as f64 / 1000.0;
    println!(
        "{}",
        json!({
            "ok": output.status.success(),
            "stderr": String::from_utf8_lossy(&output.stderr),
            "stdout": String::from_utf8_lossy(&output.stdout),
            "wall_ms": wall_ms,
            "cpu_ms": millis(usage.user_time()) + millis(usage.system_time()),
            "peak_rss_kb": usage.max_rss(),
        })
    );
    Ok(())
}

fn measure(command: &[&str]) -> Result<(Cost, Value), Box<dyn std::error::Error>> {
    let output = Command::new(std::env::current_exe()?).arg("__measure").args(command).output()?;
    let report: Value = serde_json::from_slice(&output.stdout)
        .map_err(|err| format!("`{}` was not measured: {err}", command.join(" ")))?;
    if report["ok"] != true {
        return Err(format!("`{}` failed: {}", command.join(" "), report["stderr"]).into());
    }
    let number = |key: &str| report[key].as_f64().unwrap_or(f64::NAN);
    let cost =
        Cost { wall_ms: number("wall_ms"), cpu_ms: number("cpu_ms"), peak_rss_mb: number("peak_rss_kb") / 1024.0 };
    Ok((cost, report))
}

/// Builds the `rectify` binary (a no-op when it is up to date) and returns its path.
fn rectify_binary() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo).args(["build", "--release", "--locked", "-q", "-p", "rectify-cli"]).status()?;
    if !status.success() {
        return Err("could not build rectify-cli".into());
    }
    let binary = std::env::current_exe()?.with_file_name("rectify");
    if !binary.exists() {
        return Err(format!("{} was not built", binary.display()).into());
    }
    Ok(binary)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// The photos to measure: the real 9 MP phone file when ../shared/data is there, and generated 12 MP
/// and 48 MP photo-like files with a phone's Exif.
fn inputs(dir: &Path) -> Result<Vec<(String, PathBuf)>, Box<dyn std::error::Error>> {
    let mut inputs = Vec::new();
    let nokia = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/ianare-exif-samples/jpg/mobile/HMD_Nokia_8.3_5G.jpg");
    if nokia.exists() {
        inputs.push(("nokia_9mp".to_string(), nokia));
    } else {
        eprintln!("bench photo: {} is not present; measuring the generated photos only", nokia.display());
    }
    let capture = Capture {
        orientation: 6,
        gps: Some(Gps { lat: 36.4601, lon: 120.5102, alt: Some(31.0), error_m: Some(3.5) }),
        taken_at: TakenAt::parse("2026-11-28T10:15:00+08:00"),
        make: Some("Generated".into()),
        model: Some("Photo-like".into()),
        ..Capture::default()
    };
    for (label, width, height, seed) in [("generated_12mp", 4000, 3000, 12), ("generated_48mp", 8000, 6000, 48)] {
        let path = dir.join(format!("{label}.jpg"));
        std::fs::write(&path, synthetic::jpeg(width, height, seed, 92, Some(&capture)))?;
        inputs.push((label.to_string(), path));
    }
    Ok(inputs)
}

pub fn run(quick: bool) -> Outcome {
    let rectify = rectify_binary()?;
    let rectify = rectify.to_str().ok_or("the build folder's path is not UTF-8")?;
    let vips_runs = Command::new("vipsthumbnail").arg("--version").output().is_ok_and(|out| out.status.success());
    if !vips_runs {
        return Err("vipsthumbnail is not installed (Debian: libvips-tools); it is this suite's anchor".into());
    }
    let dir = tempfile::tempdir()?;
    let runs = if quick { 3 } else { 7 };
    for (label, input) in inputs(dir.path())? {
        let file = input.to_str().ok_or("input path is not UTF-8")?;
        let megabytes = std::fs::metadata(&input)?.len() as f64 / 1e6;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let mut dimensions = String::new();
        for run in 0..runs {
            let db = dir.path().join(format!("{label}-{run}.db"));
            let db = db.to_str().ok_or("path is not UTF-8")?;
            let init =
                Command::new(rectify).args(["--db", db, "init", "--user", "bench", "--role", "inspector"]).output()?;
            if !init.status.success() {
                return Err(format!("rectify init failed: {}", String::from_utf8_lossy(&init.stderr)).into());
            }
            let out = dir.path().join(format!("vips-{label}-{run}.jpg[Q=80]"));
            let vips = ["vipsthumbnail", file, "--size", "2048", "-o", out.to_str().ok_or("path is not UTF-8")?];
            let ingest = [rectify, "--db", db, "photo", "ingest", file, "--json"];
            // Alternate which goes first, so neither always meets a warm or a cold page cache.
            if run % 2 == 0 {
                theirs.push(measure(&vips)?.0);
                ours.push(measure(&ingest)?);
            } else {
                ours.push(measure(&ingest)?);
                theirs.push(measure(&vips)?.0);
            }
            let printed: Value = serde_json::from_str(ours[ours.len() - 1].1["stdout"].as_str().unwrap_or(""))?;
            dimensions = format!("{}x{}", printed["evidence"]["width"], printed["evidence"]["height"]);
        }
        let pick = |costs: &[Cost], field: Field| median(&mut costs.iter().map(field).collect::<Vec<_>>());
        let ours: Vec<Cost> = ours.into_iter().map(|(cost, _)| cost).collect();
        let fields: [(&str, &str, Field); 3] = [
            ("wall", "ms", |cost| cost.wall_ms),
            ("cpu", "ms", |cost| cost.cpu_ms),
            ("peak_rss", "MB", |cost| cost.peak_rss_mb),
        ];
        for (name, unit, field) in fields {
            let (value, anchor) = (pick(&ours, field), pick(&theirs, field));
            println!(
                "{}",
                json!({
                    "suite": "photo",
                    "metric": format!("ingest_{name}_{label}"),
                    "value": round(value),
                    "unit": unit,
                    "anchor": "vipsthumbnail --size 2048 Q=80 (evidence image only), same file, same run",
                    "anchor_value": round(anchor),
                    "ratio": round(value / anchor),
                    "note": format!(
                        "median of {runs} whole processes; {megabytes:.1} MB input, evidence {dimensions} + 320 px \
                         thumbnail + SHA-256 + Exif + SQLite row; target ratio <= 1.0"
                    ),
                })
            );
        }
    }
    Ok(())
}
