//! Tests of the login check: which answers to a wrong password are refusals, the budget of
//! wrong passwords per account between right logins, and what fails a run.

use super::*;
use chatd_proto::Nick;

fn err(code: ErrorCode, text: &str) -> Reply {
    Reply::Err {
        code,
        text: text.to_owned(),
    }
}

#[test]
fn a_wrong_password_is_refused_or_cut_and_anything_else_breaks_the_contract() {
    let table = [
        (
            err(ErrorCode::BadLogin, "wrong nick or password"),
            WrongAnswer::BadLogin,
        ),
        (
            err(
                ErrorCode::TooManyAttempts,
                "too many failed logins; try again in 8 s",
            ),
            WrongAnswer::TooManyAttempts,
        ),
        (
            err(
                ErrorCode::TooManyAttempts,
                "too many failed logins; try again in 600 s",
            ),
            WrongAnswer::TooManyAttempts,
        ),
        (
            Reply::Bye {
                reason: Some("register timeout".to_owned()),
            },
            WrongAnswer::Cut,
        ),
        (
            Reply::OkLogin(Nick::parse("alice").unwrap()),
            WrongAnswer::Accepted,
        ),
        // The room keys' TOO_MANY_ATTEMPTS is not the login throttle's.
        (
            err(
                ErrorCode::TooManyAttempts,
                "too many wrong keys; try again in 8 s",
            ),
            WrongAnswer::Other,
        ),
        (
            err(ErrorCode::BadLogin, "wrong password for alice"),
            WrongAnswer::Other,
        ),
        (
            err(
                ErrorCode::ServerBusy,
                "the server is busy checking passwords",
            ),
            WrongAnswer::Other,
        ),
        (Reply::Bye { reason: None }, WrongAnswer::Other),
        (
            Reply::Bye {
                reason: Some("logged in elsewhere".to_owned()),
            },
            WrongAnswer::Other,
        ),
    ];
    for (reply, want) in table {
        assert_eq!(judge_wrong(&reply), want, "{reply}");
    }
    assert!(WrongAnswer::BadLogin.maybe_counted());
    assert!(WrongAnswer::Cut.maybe_counted());
    assert!(!WrongAnswer::TooManyAttempts.maybe_counted());
}

#[test]
fn passwords_are_found_in_any_line() {
    assert!(holds_password("ERR BAD_LOGIN soak-pw-wrong-3-17"));
    assert!(!holds_password("ERR BAD_LOGIN wrong nick or password"));
}

#[test]
fn wrong_passwords_for_an_account_stay_under_what_the_throttle_answers_at_once() {
    let mut account = AccountFailures::default();
    assert!(account.start_wrong());
    assert!(account.start_wrong());
    // Two in flight: a third might be the one the server delays.
    assert!(!account.start_wrong());
    account.end_wrong(&WrongAnswer::TooManyAttempts);
    // Refused unchecked: not counted, so room for one more.
    assert!(account.start_wrong());
    account.end_wrong(&WrongAnswer::BadLogin);
    // A right login sent now clears the failure answered, not the one still in flight.
    let clears = account.before_right();
    assert_eq!(clears, 1);
    account.end_wrong(&WrongAnswer::Cut);
    assert!(
        !account.start_wrong(),
        "the login has not been answered yet"
    );
    account.after_right(clears);
    assert!(account.start_wrong());
    assert!(
        !account.start_wrong(),
        "the failure in flight at the login still counts"
    );
}

fn clean() -> LoginFigures {
    LoginFigures {
        accounts: 4,
        wrong_sent: true,
        counts: LoginCounts {
            right: 120,
            wrong_on_accounts: 40,
            wrong_on_unknown: 260,
            bad_login: 30,
            too_many: 260,
            cut: 10,
            ..LoginCounts::default()
        },
        lines: 120,
        logins_failed: Some((2, 42)),
    }
}

#[test]
fn a_clean_login_part_passes_and_an_idle_one_is_not_judged() {
    assert_eq!(clean().failures(), Vec::<String>::new());
    assert_eq!(clean().logins_failed_growth(), Some(40));
    assert_eq!(LoginFigures::default().failures(), Vec::<String>::new());
}

#[test]
fn every_broken_rule_fails_the_run() {
    let fails = |change: fn(&mut LoginFigures), want: &str| {
        let mut figures = clean();
        change(&mut figures);
        let failures = figures.failures();
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains(want), "{failures:?}");
    };
    fails(
        |f| f.counts.right_failed = 1,
        "1 of 121 logins with the right password failed",
    );
    fails(|f| f.counts.accepted = 1, "1 wrong passwords were accepted");
    fails(
        |f| f.counts.wrong_broken = 2,
        "2 wrong passwords got an answer",
    );
    fails(
        |f| f.counts.echoed = 1,
        "1 lines from the server held a password",
    );
    fails(|f| f.logins_failed = None, "logins_failed was not read");
    fails(
        |f| f.logins_failed = Some((2, 31)),
        "grew by 29, fewer than the 30 BAD_LOGIN",
    );
}

#[test]
fn counts_add_up_and_keep_the_first_problem() {
    let mut sum = LoginCounts::default();
    let mut one = LoginCounts::default();
    one.wrong_answered(
        &WrongAnswer::BadLogin,
        "ERR BAD_LOGIN wrong nick or password",
    );
    one.wrong_answered(&WrongAnswer::Accepted, "OK LOGIN alice");
    let mut two = LoginCounts::default();
    two.wrong_answered(&WrongAnswer::Other, "ERR SERVER_BUSY busy");
    sum += one;
    sum += two;
    assert_eq!((sum.bad_login, sum.accepted, sum.wrong_broken), (1, 1, 1));
    assert!(sum.first_problem.unwrap().contains("OK LOGIN alice"));
}
