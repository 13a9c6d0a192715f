//! What `parse` reads from everyday text: single events, repeats, errors, and properties over
//! random text.

use chrono::{Days, TimeDelta};

use super::resolve::occurs_on;
use super::*;
use Frequency::{Daily, Monthly, Weekly, Yearly};
use Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
use proptest::prelude::*;

/// Wednesday 2026-11-25 10:00 UTC.
fn now() -> DateTime<Tz> {
    at(2026, 11, 25, 10, 0).and_utc().with_timezone(&Tz::UTC)
}

fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("test date")
}

fn at(year: i32, month: u32, d: u32, hour: u32, minute: u32) -> NaiveDateTime {
    day(year, month, d)
        .and_hms_opt(hour, minute, 0)
        .expect("test time")
}

fn read(text: &str) -> Schedule {
    parse(text, now()).unwrap_or_else(|error| panic!("{text:?}: {error}"))
}

fn refused(text: &str) -> (String, usize) {
    match parse(text, now()) {
        Ok(schedule) => panic!("{text:?} was read as {schedule:?}"),
        Err(error) => (error.word, error.column),
    }
}

fn timed(title: &str, start: NaiveDateTime, end: NaiveDateTime) -> Schedule {
    Schedule {
        title: title.into(),
        tz: Tz::UTC,
        when: When::Timed { start, end },
        recurrence: None,
        exceptions: vec![],
    }
}

fn all_day(title: &str, first: NaiveDate, last: NaiveDate) -> Schedule {
    Schedule {
        title: title.into(),
        tz: Tz::UTC,
        when: When::AllDay { first, last },
        recurrence: None,
        exceptions: vec![],
    }
}

fn rule(frequency: Frequency, interval: u32) -> Recurrence {
    Recurrence {
        frequency,
        interval,
        weekdays: vec![],
        month_days: vec![],
        months: vec![],
        until: None,
    }
}

fn on(frequency: Frequency, weekdays: &[Weekday]) -> Recurrence {
    Recurrence {
        weekdays: weekdays.iter().map(|&w| (None, w)).collect(),
        ..rule(frequency, 1)
    }
}

fn nth(weekdays: &[(i8, Weekday)]) -> Recurrence {
    Recurrence {
        weekdays: weekdays.iter().map(|&(n, w)| (Some(n), w)).collect(),
        ..rule(Monthly, 1)
    }
}

fn monthly(days: &[u8]) -> Recurrence {
    Recurrence {
        month_days: days.to_vec(),
        ..rule(Monthly, 1)
    }
}

fn yearly(month: u8, month_day: u8) -> Recurrence {
    Recurrence {
        months: vec![month],
        month_days: vec![month_day],
        ..rule(Yearly, 1)
    }
}

fn repeating(schedule: &Schedule, recurrence: Recurrence) -> Schedule {
    Schedule {
        recurrence: Some(recurrence),
        ..schedule.clone()
    }
}

fn hour(start: NaiveDateTime) -> Schedule {
    timed("", start, start + TimeDelta::hours(1))
}

// --- single events ---

#[test]
fn month_day_and_time() {
    assert_eq!(
        read("dec 5 9:30am"),
        timed("", at(2026, 12, 5, 9, 30), at(2026, 12, 5, 10, 30))
    );
}

#[test]
fn tomorrow_at_noon_for_two_hours() {
    assert_eq!(
        read("tomorrow at noon for 2 hours"),
        timed("", at(2026, 11, 26, 12, 0), at(2026, 11, 26, 14, 0))
    );
}

#[test]
fn weekday_with_a_time_range() {
    assert_eq!(
        read("tuesday 3pm to 5pm"),
        timed("", at(2026, 12, 1, 15, 0), at(2026, 12, 1, 17, 0))
    );
}

#[test]
fn iso_date_with_24_hour_range() {
    assert_eq!(
        read("2026-12-24 18:00-22:00"),
        timed("", at(2026, 12, 24, 18, 0), at(2026, 12, 24, 22, 0))
    );
}

#[test]
fn title_before_weekday_and_time() {
    assert_eq!(
        read("DMV friday at 10:30"),
        timed("DMV", at(2026, 11, 27, 10, 30), at(2026, 11, 27, 11, 30))
    );
}

#[test]
fn date_without_time_is_all_day() {
    assert_eq!(
        read("dec 5"),
        all_day("", day(2026, 12, 5), day(2026, 12, 5))
    );
}

#[test]
fn ranges_of_days() {
    let expected = all_day("", day(2026, 12, 5), day(2026, 12, 7));
    for text in [
        "dec 5 to dec 7",
        "dec 5-7",
        "dec 5 - dec 7",
        "from dec 5 to dec 7",
        "dec 5 for 3 days",
    ] {
        assert_eq!(read(text), expected, "{text}");
    }
    assert_eq!(
        read("dec 30 to jan 2"),
        all_day("", day(2026, 12, 30), day(2027, 1, 2))
    );
}

#[test]
fn every_month_name_is_read() {
    let names = [
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("sept", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
        ("january", 1),
        ("february", 2),
        ("march", 3),
        ("april", 4),
        ("june", 6),
        ("july", 7),
        ("august", 8),
        ("september", 9),
        ("october", 10),
        ("november", 11),
        ("december", 12),
        ("Dec.", 12),
        ("SEPT.", 9),
    ];
    for (name, month) in names {
        let year = if month == 12 { 2026 } else { 2027 };
        let date = day(year, month, 3);
        assert_eq!(
            read(&format!("{name} 3")),
            all_day("", date, date),
            "{name}"
        );
    }
}

#[test]
fn dates_already_past_this_year_are_next_year() {
    assert_eq!(
        read("nov 3"),
        all_day("", day(2027, 11, 3), day(2027, 11, 3))
    );
    assert_eq!(read("apr 5"), all_day("", day(2027, 4, 5), day(2027, 4, 5)));
    assert_eq!(
        read("nov 25"),
        all_day("", day(2026, 11, 25), day(2026, 11, 25))
    );
}

#[test]
fn day_before_month_and_ordinals() {
    let nov3 = all_day("", day(2027, 11, 3), day(2027, 11, 3));
    assert_eq!(read("3 nov"), nov3);
    assert_eq!(read("november 3rd"), nov3);
    assert_eq!(read("3rd of november"), nov3);
    assert_eq!(read("the 3rd of november"), nov3);
}

#[test]
fn dates_with_a_year() {
    let expected = all_day("", day(2027, 12, 5), day(2027, 12, 5));
    assert_eq!(read("dec 5, 2027"), expected);
    assert_eq!(read("dec 5 2027"), expected);
    assert_eq!(read("5 december 2027"), expected);
}

#[test]
fn feb_29_waits_for_a_leap_year() {
    assert_eq!(
        read("feb 29"),
        all_day("", day(2028, 2, 29), day(2028, 2, 29))
    );
}

#[test]
fn an_end_before_the_start_is_the_next_day() {
    let expected = timed("", at(2026, 11, 27, 22, 0), at(2026, 11, 28, 2, 0));
    assert_eq!(read("10pm to 2am friday"), expected);
    assert_eq!(read("friday 10pm to 2am"), expected);
}

#[test]
fn today_and_tonight() {
    assert_eq!(read("today 5pm"), hour(at(2026, 11, 25, 17, 0)));
    assert_eq!(read("tonight at 9"), hour(at(2026, 11, 25, 21, 0)));
    assert_eq!(read("tonight 10:30"), hour(at(2026, 11, 25, 22, 30)));
    assert_eq!(
        read("today"),
        all_day("", day(2026, 11, 25), day(2026, 11, 25))
    );
}

#[test]
fn a_time_alone_is_today_or_tomorrow() {
    assert_eq!(read("noon"), hour(at(2026, 11, 25, 12, 0)));
    assert_eq!(read("midnight"), hour(at(2026, 11, 26, 0, 0)));
    assert_eq!(read("at 7 pm"), hour(at(2026, 11, 25, 19, 0)));
    assert_eq!(read("7:30 p.m."), hour(at(2026, 11, 25, 19, 30)));
    assert_eq!(read("9am"), hour(at(2026, 11, 26, 9, 0)));
    assert_eq!(read("10:00"), hour(at(2026, 11, 25, 10, 0)));
}

#[test]
fn french_style_hours() {
    assert_eq!(read("19h"), hour(at(2026, 11, 25, 19, 0)));
    assert_eq!(read("friday 19h30"), hour(at(2026, 11, 27, 19, 30)));
}

#[test]
fn in_some_days() {
    assert_eq!(
        read("in 3 days"),
        all_day("", day(2026, 11, 28), day(2026, 11, 28))
    );
    assert_eq!(read("in 2 weeks at 9am"), hour(at(2026, 12, 9, 9, 0)));
}

#[test]
fn a_weekday_alone_is_the_next_one() {
    assert_eq!(
        read("friday"),
        all_day("", day(2026, 11, 27), day(2026, 11, 27))
    );
    assert_eq!(
        read("next friday"),
        all_day("", day(2026, 11, 27), day(2026, 11, 27))
    );
    assert_eq!(
        read("this friday"),
        all_day("", day(2026, 11, 27), day(2026, 11, 27))
    );
}

#[test]
fn today_counts_as_the_weekday_only_while_ahead() {
    assert_eq!(
        read("wednesday"),
        all_day("", day(2026, 11, 25), day(2026, 11, 25))
    );
    assert_eq!(read("wednesday 11am"), hour(at(2026, 11, 25, 11, 0)));
    assert_eq!(read("wednesday 9am"), hour(at(2026, 12, 2, 9, 0)));
    assert_eq!(
        read("next wednesday"),
        all_day("", day(2026, 12, 2), day(2026, 12, 2))
    );
    assert_eq!(read("next wednesday 11am"), hour(at(2026, 12, 2, 11, 0)));
}

#[test]
fn ways_to_write_a_time() {
    let cases = [
        ("friday at 9", (9, 0)),
        ("friday 9am", (9, 0)),
        ("friday 9 am", (9, 0)),
        ("friday 9:30", (9, 30)),
        ("friday 09:30", (9, 30)),
        ("friday 21:00", (21, 0)),
        ("friday noon", (12, 0)),
        ("friday midnight", (0, 0)),
        ("friday 12am", (0, 0)),
        ("friday 12pm", (12, 0)),
        ("friday at 12", (12, 0)),
        ("friday 9a", (9, 0)),
        ("friday at 7 o'clock", (19, 0)),
        ("friday @ 3", (15, 0)),
    ];
    for (text, (h, m)) in cases {
        assert_eq!(read(text), hour(at(2026, 11, 27, h, m)), "{text}");
    }
}

#[test]
fn bare_hours_after_at() {
    assert_eq!(read("friday at 7"), hour(at(2026, 11, 27, 19, 0)));
    assert_eq!(read("friday at 1"), hour(at(2026, 11, 27, 13, 0)));
    assert_eq!(read("friday at 8"), hour(at(2026, 11, 27, 8, 0)));
    assert_eq!(read("friday at 07:00"), hour(at(2026, 11, 27, 7, 0)));
    assert_eq!(read("friday 7:00"), hour(at(2026, 11, 27, 7, 0)));
}

#[test]
fn time_ranges() {
    let friday = |h1, m1, h2, m2| timed("", at(2026, 11, 27, h1, m1), at(2026, 11, 27, h2, m2));
    let cases = [
        ("friday 9-10am", friday(9, 0, 10, 0)),
        ("friday 9am-5pm", friday(9, 0, 17, 0)),
        ("friday 3pm to 5pm", friday(15, 0, 17, 0)),
        ("friday 18:00-22:00", friday(18, 0, 22, 0)),
        ("friday from 3 to 5pm", friday(15, 0, 17, 0)),
        ("friday 3 - 5pm", friday(15, 0, 17, 0)),
        ("friday 11-1pm", friday(11, 0, 13, 0)),
        ("friday 9am-5", friday(9, 0, 17, 0)),
        ("friday at 9-10", friday(9, 0, 10, 0)),
        ("friday 9:30am – 11:15am", friday(9, 30, 11, 15)),
        ("friday noon-2pm", friday(12, 0, 14, 0)),
        ("friday 9am until 5pm", friday(9, 0, 17, 0)),
    ];
    for (text, expected) in cases {
        assert_eq!(read(text), expected, "{text}");
    }
}

#[test]
fn lengths() {
    let friday = |h2, m2| timed("", at(2026, 11, 27, 15, 0), at(2026, 11, 27, h2, m2));
    let cases = [
        ("friday 3pm for 2 hours", friday(17, 0)),
        ("friday 3pm for 90 minutes", friday(16, 30)),
        ("friday 3pm for 1.5 hours", friday(16, 30)),
        ("friday 3pm for an hour", friday(16, 0)),
        ("friday 3pm for half an hour", friday(15, 30)),
        ("friday 3pm for 2h", friday(17, 0)),
        ("friday 3pm for 45 min", friday(15, 45)),
    ];
    for (text, expected) in cases {
        assert_eq!(read(text), expected, "{text}");
    }
}

#[test]
fn case_spaces_and_punctuation_are_tolerated() {
    assert_eq!(
        read("  Dentist,   FRIDAY,  at 3PM!  "),
        timed("Dentist", at(2026, 11, 27, 15, 0), at(2026, 11, 27, 16, 0))
    );
}

#[test]
fn words_around_the_schedule_are_the_title() {
    assert_eq!(
        read("meet at the office friday 3pm"),
        timed(
            "meet at the office",
            at(2026, 11, 27, 15, 0),
            at(2026, 11, 27, 16, 0)
        )
    );
    assert_eq!(
        read("Lunch with Bob on friday at noon"),
        timed(
            "Lunch with Bob",
            at(2026, 11, 27, 12, 0),
            at(2026, 11, 27, 13, 0)
        )
    );
    assert_eq!(
        read("room 9 friday"),
        all_day("room 9", day(2026, 11, 27), day(2026, 11, 27))
    );
    assert_eq!(
        read("co-op meeting dec 5"),
        all_day("co-op meeting", day(2026, 12, 5), day(2026, 12, 5))
    );
    assert_eq!(
        read("bob's party friday"),
        all_day("bob's party", day(2026, 11, 27), day(2026, 11, 27))
    );
}

#[test]
fn weekday_abbreviations_that_are_words() {
    let friday = |title| all_day(title, day(2026, 11, 27), day(2026, 11, 27));
    assert_eq!(read("walk in the sun friday"), friday("walk in the sun"));
    assert_eq!(read("we sat friday"), friday("we sat"));
    assert_eq!(
        read("sun"),
        all_day("", day(2026, 11, 29), day(2026, 11, 29))
    );
}

#[test]
fn keywords_before_words_that_are_not_schedule_stay_in_the_title() {
    let friday = |title| all_day(title, day(2026, 11, 27), day(2026, 11, 27));
    assert_eq!(read("from bob friday"), friday("from bob"));
    assert_eq!(read("on call friday"), friday("on call"));
    assert_eq!(read("for bob friday"), friday("for bob"));
    assert_eq!(read("next steps friday"), friday("next steps"));
    assert_eq!(read("each of us friday"), friday("each of us"));
    assert_eq!(
        read("meet at 221b baker st friday"),
        friday("meet at 221b baker st")
    );
    assert_eq!(read("2nd floor friday"), friday("2nd floor"));
    assert_eq!(read("32nd street friday"), friday("32nd street"));
}

// --- repeats ---

#[test]
fn every_monday_with_a_range() {
    let expected = timed("", at(2026, 11, 30, 9, 0), at(2026, 11, 30, 10, 0));
    assert_eq!(
        read("every monday 9-10am"),
        repeating(&expected, on(Weekly, &[Mon]))
    );
}

#[test]
fn plural_weekdays_repeat() {
    let expected = timed(
        "javascript study group",
        at(2026, 11, 26, 19, 0),
        at(2026, 11, 26, 20, 0),
    );
    assert_eq!(
        read("javascript study group thursdays at 7 pm"),
        repeating(&expected, on(Weekly, &[Thu]))
    );
}

#[test]
fn every_other_friday_until_a_month() {
    let expected = timed("", at(2026, 11, 27, 16, 0), at(2026, 11, 27, 17, 0));
    let rule = Recurrence {
        until: Some(day(2027, 2, 28)),
        ..on(Weekly, &[Fri])
    };
    let rule = Recurrence {
        interval: 2,
        ..rule
    };
    assert_eq!(
        read("every other friday at 4pm until march"),
        repeating(&expected, rule)
    );
}

#[test]
fn every_day_starting_until() {
    let expected = timed("", at(2027, 1, 15, 12, 0), at(2027, 1, 15, 13, 0));
    let rule = Recurrence {
        until: Some(day(2027, 2, 10)),
        ..rule(Daily, 1)
    };
    assert_eq!(
        read("every day at 12:00 starting jan 15 until feb 10"),
        repeating(&expected, rule)
    );
}

#[test]
fn two_plural_weekdays() {
    let expected = hour(at(2026, 11, 30, 8, 0));
    assert_eq!(
        read("mondays and wednesdays 8am"),
        repeating(&expected, on(Weekly, &[Mon, Wed]))
    );
}

#[test]
fn every_weekday_and_weekends() {
    let expected = hour(at(2026, 11, 26, 9, 0));
    assert_eq!(
        read("every weekday at 9"),
        repeating(&expected, on(Weekly, &[Mon, Tue, Wed, Thu, Fri]))
    );
    let saturday = all_day("", day(2026, 11, 28), day(2026, 11, 28));
    assert_eq!(
        read("weekends"),
        repeating(&saturday, on(Weekly, &[Sat, Sun]))
    );
    assert_eq!(
        read("every weekend"),
        repeating(&saturday, on(Weekly, &[Sat, Sun]))
    );
}

#[test]
fn daily_weekly_and_every_n() {
    assert_eq!(
        read("daily at 7am"),
        repeating(&hour(at(2026, 11, 26, 7, 0)), rule(Daily, 1))
    );
    let tuesday = all_day("", day(2026, 12, 1), day(2026, 12, 1));
    assert_eq!(
        read("weekly on tuesday"),
        repeating(&tuesday, on(Weekly, &[Tue]))
    );
    let monday = all_day("", day(2026, 11, 30), day(2026, 11, 30));
    let rule2 = Recurrence {
        interval: 2,
        ..on(Weekly, &[Mon])
    };
    assert_eq!(read("every 2 weeks on monday"), repeating(&monday, rule2));
    let today = all_day("", day(2026, 11, 25), day(2026, 11, 25));
    assert_eq!(read("every 3 days"), repeating(&today, rule(Daily, 3)));
    assert_eq!(read("every week"), repeating(&today, on(Weekly, &[Wed])));
    assert_eq!(
        read("biweekly on friday"),
        repeating(
            &all_day("", day(2026, 11, 27), day(2026, 11, 27)),
            Recurrence {
                interval: 2,
                ..on(Weekly, &[Fri])
            }
        )
    );
}

#[test]
fn days_of_the_month() {
    let dec15 = all_day("", day(2026, 12, 15), day(2026, 12, 15));
    for text in [
        "the 15th",
        "every 15th",
        "the 15th of every month",
        "on the 15th of the month",
        "monthly on the 15th",
        "every month on the 15th",
    ] {
        assert_eq!(read(text), repeating(&dec15, monthly(&[15])), "{text}");
    }
    let dec1 = all_day("", day(2026, 12, 1), day(2026, 12, 1));
    assert_eq!(
        read("on the 1st and 15th"),
        repeating(&dec1, monthly(&[1, 15]))
    );
    assert_eq!(
        read("monthly on the 3rd at 2pm"),
        repeating(&hour(at(2026, 12, 3, 14, 0)), monthly(&[3]))
    );
    assert_eq!(
        read("the first of the month"),
        repeating(&dec1, monthly(&[1]))
    );
    assert_eq!(
        read("every 31st"),
        repeating(
            &all_day("", day(2026, 12, 31), day(2026, 12, 31)),
            monthly(&[31])
        )
    );
    let today = all_day("", day(2026, 11, 25), day(2026, 11, 25));
    assert_eq!(read("monthly"), repeating(&today, monthly(&[25])));
}

#[test]
fn yearly_dates() {
    let oct31 = all_day("", day(2027, 10, 31), day(2027, 10, 31));
    assert_eq!(read("every oct 31st"), repeating(&oct31, yearly(10, 31)));
    let mar3 = all_day("", day(2027, 3, 3), day(2027, 3, 3));
    assert_eq!(
        read("every year on march 3"),
        repeating(&mar3, yearly(3, 3))
    );
    let dec25 = all_day("", day(2026, 12, 25), day(2026, 12, 25));
    assert_eq!(read("annually dec 25"), repeating(&dec25, yearly(12, 25)));
    let today = all_day("", day(2026, 11, 25), day(2026, 11, 25));
    assert_eq!(read("yearly"), repeating(&today, yearly(11, 25)));
}

#[test]
fn numbered_weekdays() {
    let dec1 = all_day("", day(2026, 12, 1), day(2026, 12, 1));
    assert_eq!(read("first tuesday"), repeating(&dec1, nth(&[(1, Tue)])));
    let nov26 = all_day("", day(2026, 11, 26), day(2026, 11, 26));
    assert_eq!(
        read("2nd and 4th thursday"),
        repeating(&nov26, nth(&[(2, Thu), (4, Thu)]))
    );
    let nov27 = all_day("", day(2026, 11, 27), day(2026, 11, 27));
    assert_eq!(
        read("last friday of the month"),
        repeating(&nov27, nth(&[(-1, Fri)]))
    );
    assert_eq!(
        read("every first monday at 6pm"),
        repeating(&hour(at(2026, 12, 7, 18, 0)), nth(&[(1, Mon)]))
    );
    let sep7 = all_day("", day(2027, 9, 6), day(2027, 9, 6));
    let labor_day = Recurrence {
        frequency: Yearly,
        months: vec![9],
        ..nth(&[(1, Mon)])
    };
    assert_eq!(
        read("first monday of september"),
        repeating(&sep7, labor_day)
    );
}

#[test]
fn quoted_titles_are_not_read() {
    let expected = timed(
        "linux installfest friday",
        at(2026, 11, 27, 21, 0),
        at(2026, 11, 27, 22, 0),
    );
    assert_eq!(
        read("\"linux installfest friday\" friday at 21:00"),
        expected
    );
    assert_eq!(read("'linux installfest friday' friday at 21:00"), expected);
    assert_eq!(read("“linux installfest friday” friday at 21:00"), expected);
    assert_eq!(read("‘linux installfest friday’ friday at 21:00"), expected);
    assert_eq!(
        read("friday at 21:00 \"linux installfest friday\""),
        expected
    );
}

#[test]
fn exceptions() {
    let expected = repeating(&hour(at(2026, 11, 30, 9, 0)), on(Weekly, &[Mon]));
    let expected = Schedule {
        exceptions: vec![day(2026, 12, 28)],
        ..expected
    };
    assert_eq!(read("every monday 9am except dec 28"), expected);
    let expected = repeating(&hour(at(2026, 11, 25, 12, 0)), rule(Daily, 1));
    let expected = Schedule {
        exceptions: vec![day(2026, 12, 25), day(2027, 1, 1)],
        ..expected
    };
    assert_eq!(read("every day at noon except dec 25 and jan 1"), expected);
    assert_eq!(read("every day at noon except jan 1, dec 25"), expected);
}

#[test]
fn an_excepted_first_occurrence_is_skipped() {
    let expected = repeating(&hour(at(2026, 12, 7, 9, 0)), on(Weekly, &[Mon]));
    let expected = Schedule {
        exceptions: vec![day(2026, 11, 30)],
        ..expected
    };
    assert_eq!(read("every monday 9am except nov 30"), expected);
}

#[test]
fn until_a_date() {
    let monday = all_day("", day(2026, 11, 30), day(2026, 11, 30));
    let until = |date: NaiveDate| {
        repeating(
            &monday,
            Recurrence {
                until: Some(date),
                ..on(Weekly, &[Mon])
            },
        )
    };
    assert_eq!(read("every monday until feb 10"), until(day(2027, 2, 10)));
    assert_eq!(
        read("every monday until 2027-03-01"),
        until(day(2027, 3, 1))
    );
    assert_eq!(
        read("every monday through dec 31"),
        until(day(2026, 12, 31))
    );
}

#[test]
fn starting_a_date() {
    let jan18 = all_day("", day(2027, 1, 18), day(2027, 1, 18));
    for text in [
        "every monday starting jan 15",
        "every monday from jan 15",
        "every monday beginning jan 15",
        "mondays starting on jan 15",
    ] {
        assert_eq!(read(text), repeating(&jan18, on(Weekly, &[Mon])), "{text}");
    }
    let jan15 = all_day("", day(2027, 1, 15), day(2027, 1, 15));
    let range = Recurrence {
        until: Some(day(2027, 2, 10)),
        ..rule(Daily, 1)
    };
    assert_eq!(
        read("every day from jan 15 to feb 10"),
        repeating(&jan15, range)
    );
    assert_eq!(
        read("every week starting jan 15"),
        repeating(&jan15, on(Weekly, &[Fri]))
    );
}

// --- errors ---

#[test]
fn unknown_word_after_every() {
    assert_eq!(refused("every blursday"), ("blursday".into(), 7));
}

#[test]
fn impossible_dates() {
    assert_eq!(refused("dec 45"), ("45".into(), 5));
    assert_eq!(refused("feb 30 3pm"), ("30".into(), 5));
    assert_eq!(refused("2026-02-30"), ("2026-02-30".into(), 1));
    assert_eq!(refused("the 32nd"), ("32nd".into(), 5));
    assert_eq!(refused("feb 29 2027"), ("29".into(), 5));
}

#[test]
fn impossible_times() {
    assert_eq!(refused("at 25:00"), ("25:00".into(), 4));
    assert_eq!(refused("9:75"), ("9:75".into(), 1));
    assert_eq!(refused("friday 13pm"), ("13pm".into(), 8));
    assert_eq!(refused("friday 3pm to 9:5"), ("9:5".into(), 15));
}

#[test]
fn unreadable_bounds() {
    assert_eq!(refused("until someday"), ("someday".into(), 7));
    assert_eq!(refused("except whenever"), ("whenever".into(), 8));
    assert_eq!(refused("starting soon"), ("soon".into(), 10));
    assert_eq!(refused("every monday until"), ("until".into(), 14));
}

#[test]
fn text_without_a_schedule() {
    let error = parse("lunch with bob", now()).expect_err("no schedule");
    assert_eq!((error.word.as_str(), error.column), ("lunch with bob", 1));
    assert!(error.reason.contains("friday 3pm"), "{}", error.reason);
    assert_eq!(refused(""), (String::new(), 1));
    assert_eq!(refused("   "), ("   ".into(), 1));
}

#[test]
fn conflicts_are_refused_at_the_second_part() {
    assert_eq!(refused("tomorrow friday"), ("friday".into(), 10));
    assert_eq!(refused("friday 3pm 5pm"), ("5pm".into(), 12));
    assert_eq!(refused("at 3pm at 5pm"), ("5pm".into(), 11));
    assert_eq!(refused("3pm to 4pm for 2 hours"), ("for".into(), 12));
    assert_eq!(refused("every day weekdays"), ("weekdays".into(), 11));
    assert_eq!(refused("every day on friday"), ("friday".into(), 14));
}

#[test]
fn parts_that_need_a_repeat() {
    assert_eq!(refused("friday until march"), ("until".into(), 8));
    assert_eq!(refused("friday except dec 4"), ("except".into(), 8));
    assert_eq!(refused("tomorrow for 2 hours"), ("for".into(), 10));
    assert_eq!(refused("every hour"), ("hour".into(), 7));
    assert_eq!(refused("every day for 3 days"), ("for".into(), 11));
    assert_eq!(
        refused("every monday until nov 1 2026"),
        ("until".into(), 14)
    );
}

// --- properties ---

fn is_occurrence(schedule: &Schedule) -> bool {
    let start = match schedule.when {
        When::Timed { start, end } => {
            if end <= start {
                return false;
            }
            start.date()
        }
        When::AllDay { first, last } => {
            if last < first {
                return false;
            }
            first
        }
    };
    let sorted = schedule.exceptions.windows(2).all(|pair| pair[0] < pair[1]);
    let matches = schedule.recurrence.as_ref().is_none_or(|rule| {
        let shape = match rule.frequency {
            Daily => {
                rule.weekdays.is_empty() && rule.month_days.is_empty() && rule.months.is_empty()
            }
            Weekly => !rule.weekdays.is_empty() && rule.weekdays.iter().all(|(n, _)| n.is_none()),
            Monthly => {
                rule.weekdays.is_empty() != rule.month_days.is_empty() && rule.months.is_empty()
            }
            Yearly => {
                !rule.months.is_empty() && rule.weekdays.is_empty() != rule.month_days.is_empty()
            }
        };
        shape
            && occurs_on(rule, start)
            && rule.until.is_none_or(|until| start <= until)
            && rule.interval >= 1
            && !schedule.exceptions.contains(&start)
    });
    sorted && matches
}

/// Words the occurrence property combines at random.
const WORDS: &str = "every other monday fridays weekdays weekend day week month year daily weekly \
    monthly annually first last 2nd 4th thursday and of the 15th 31st dec feb nov 29 5 30 3 \
    2027 at 7 12 9am 12am 3pm to - noon midnight 21:00 19h for 2 hours an hour 90 minutes \
    until march except starting from jan 1 tomorrow today tonight next this on lunch \
    \"quoted word\" in days 2026-12-24 10pm 2am weekends sun o'clock through";

fn some_now() -> impl Strategy<Value = NaiveDateTime> {
    (0_u64..60_000, 0_u32..24 * 60).prop_map(|(days, minutes)| {
        let date = day(1990, 1, 1) + Days::new(days);
        date.and_hms_opt(minutes / 60, minutes % 60, 0)
            .expect("minutes of a day")
    })
}

proptest! {
    #[test]
    fn never_panics_on_any_text(text in "\\PC{0,200}") {
        let _ = parse(&text, now());
    }

    #[test]
    fn never_panics_on_long_text(word in "[a-z0-9:\\- ]{1,12}", times in 1_usize..3000) {
        let _ = parse(&word.repeat(times), now());
    }

    #[test]
    fn what_is_read_is_an_occurrence(
        words in prop::collection::vec(prop::sample::select(WORDS.split_whitespace().collect::<Vec<_>>()), 1..9),
        now in some_now(),
    ) {
        let text = words.join(" ");
        if let Ok(schedule) = parse(&text, now.and_utc().with_timezone(&Tz::UTC)) {
            prop_assert!(is_occurrence(&schedule), "{text:?} gave {schedule:?}");
        }
    }
}
