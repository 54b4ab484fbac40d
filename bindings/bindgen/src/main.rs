//! `uniffi-bindgen generate --library target/…/librectify_ffi.so --language kotlin|swift|python --out-dir DIR`:
//! uniffi's own generator, built from the same uniffi version as the library so the two always agree.
//! `scripts/gen-bindings.sh` is the one caller.

fn main() {
    uniffi::uniffi_bindgen_main()
}
