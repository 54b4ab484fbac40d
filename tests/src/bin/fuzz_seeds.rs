//! Writes the fuzz targets' seeds, captured from real traffic, under `DIR/TARGET/`.

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: fuzz-seeds DIR");
        std::process::exit(2);
    };
    let written = rectify_tests::fuzz::write_seeds(std::path::Path::new(&dir));
    println!("{written} seeds written under {}", std::path::Path::new(&dir).display());
}
