//! Integration tests: every test starts its own in-process server on `127.0.0.1:0` and talks
//! to it over loopback TCP. Waits are deadlines and `PING`/`PONG` barriers, never sleeps.

mod support;

mod account_admin;
mod account_mail;
mod account_support;
mod accounts;
mod announcements;
mod bad_input;
mod broadcast;
mod config_file;
mod defaults;
mod direct_history;
mod errors_and_help;
mod extensions;
mod flood;
mod flood_pricing;
mod history;
mod history_crash;
mod history_store;
mod limits;
mod memory_bench;
mod message_ids;
mod open_files;
mod presence;
mod process;
mod protocol_contract;
mod queue_footprint;
mod refusals;
mod registered_rooms;
mod registration;
mod reload;
mod resources;
mod room_limits;
mod rooms;
mod shutdown;
mod slow_consumer_cut;
mod startup_errors;
mod stats;
mod text_rule;
mod timeouts;
mod vital_threads;
mod websocket;
mod write_timeout;
