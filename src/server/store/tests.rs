//! Tests of the store against real SQLite files in a folder of their own.
