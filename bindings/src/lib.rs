//! rectify-ffi: the thin foreign-language facade over rectify-core for the Android (Kotlin) and iOS
//! (Swift) shells. It is empty on purpose until the bindings issue lands: the uniffi objects, records and
//! the single error conversion will live here, delegating every piece of domain logic to rectify-core.
