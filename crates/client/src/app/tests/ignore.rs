//! Tests of `/ignore` and `/unignore` (issue 12): what is hidden, where, and what is said.
//!
//! Out of scope: parsing the commands (`commands`' tests).

use super::*;

#[test]
fn issue_12_ignore_hides_a_nicks_messages_everywhere_ignoring_case() {
    let mut app = in_rust();
    app.switch_to(0);
    enter(&mut app, "/ignore Bob");
    assert_eq!(
        last(app.tab()),
        "--- ignoring Bob: their messages are hidden until you quit (/unignore Bob)"
    );
    let lobby = app.tabs[0].lines().len();
    let rust = app.tabs[1].lines().len();
    server(&mut app, "ALL bob hello all");
    server(&mut app, "MSG #rust BOB hello room");
    server(&mut app, "MSG bob psst");
    assert_eq!(app.tabs[0].lines().len(), lobby);
    assert_eq!(app.tabs[1].lines().len(), rust);
    assert_eq!(
        app.tabs.len(),
        2,
        "no tab opened for an ignored direct message"
    );
    assert_eq!(app.last_direct_from, None);
    assert_eq!(app.unread(), 0);
    // Others still get through; notices about the ignored nick too.
    server(&mut app, "ALL carol hi");
    assert_eq!(last(&app.tabs[0]), "<carol> hi");
    server(&mut app, "QUIT bob gone");
    assert_eq!(last(&app.tabs[0]), "-!- bob quit (gone)");
}

#[test]
fn issue_12_ignore_lists_unignore_shows_again() {
    let mut app = online();
    enter(&mut app, "/ignore");
    assert_eq!(
        last(app.tab()),
        "--- you ignore nobody (/ignore NICK hides someone's messages)"
    );
    assert!(sent(&enter(&mut app, "/ignore carol")).is_empty());
    enter(&mut app, "/ignore bob");
    enter(&mut app, "/ignore BOB");
    assert_eq!(
        last(app.tab()),
        "--- BOB is ignored already (/unignore BOB)"
    );
    enter(&mut app, "/ignore");
    assert_eq!(last(app.tab()), "--- ignored until you quit: bob carol");
    enter(&mut app, "/unignore Bob");
    assert_eq!(last(app.tab()), "--- Bob is no longer ignored");
    enter(&mut app, "/unignore bob");
    assert_eq!(last(app.tab()), "--- bob was not ignored");
    server(&mut app, "ALL bob back");
    assert_eq!(last(app.tab()), "<bob> back");
    server(&mut app, "ALL carol still hidden");
    assert_eq!(last(app.tab()), "<bob> back");
}

#[test]
fn issue_12_ignoring_lasts_across_a_reconnect() {
    let mut app = online();
    enter(&mut app, "/ignore bob");
    let lost = NetEvent::Lost {
        reason: "reset".into(),
        retry_in: Duration::from_millis(250),
    };
    net(&mut app, lost);
    net(&mut app, NetEvent::Connected);
    server(&mut app, "OK NICK alice");
    server(&mut app, "ALL bob hi again");
    assert_ne!(last(app.tab()), "<bob> hi again");
    assert!(app.ignores(&nick("BOB")));
}
