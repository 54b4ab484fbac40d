//! rectify-office: the district office. It will run the same rectify-core behind an HTTP sync API, keep
//! the photo store, serve the dashboard and carry the admin commands. Empty until the sync issue lands;
//! until then the office's acceptor works through the `rectify` CLI on a local ledger.
