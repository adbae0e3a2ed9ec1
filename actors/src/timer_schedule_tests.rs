//! Unit tests of the timer schedules, at fixed instants.

use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn request() -> ScheduleRequest {
    ScheduleRequest::default()
}

fn daily_paris(at_time: &str, anchor: &str) -> Schedule {
    Schedule::parse(
        &ScheduleRequest {
            every: Some("1d".into()),
            at_time: Some(at_time.into()),
            timezone: Some("Europe/Paris".into()),
            ..request()
        },
        utc(anchor),
    )
    .unwrap()
}

fn field_of(result: Result<Schedule, ScheduleError>) -> &'static str {
    result.expect_err("the request is invalid").field
}

#[test]
fn daily_eight_oclock_paris_stays_at_eight_local_across_the_march_change() {
    // 2026-03-29 02:00 CET becomes 03:00 CEST: 08:00 is 07:00Z the day before and 06:00Z the day after.
    let schedule = daily_paris("08:00", "2026-03-20T12:00:00Z");
    let before = schedule.next_fire_after(utc("2026-03-28T06:59:00Z")).unwrap();
    assert_eq!(before, utc("2026-03-28T07:00:00Z"));
    let after = schedule.next_fire_after(before).unwrap();
    assert_eq!(after, utc("2026-03-29T06:00:00Z"));
    assert_eq!(schedule.next_fire_after(after).unwrap(), utc("2026-03-30T06:00:00Z"));
}

#[test]
fn daily_eight_oclock_paris_stays_at_eight_local_across_the_october_change() {
    // 2026-10-25 03:00 CEST becomes 02:00 CET: 08:00 is 06:00Z the day before and 07:00Z the day after.
    let schedule = daily_paris("08:00", "2026-10-01T12:00:00Z");
    let before = schedule.next_fire_after(utc("2026-10-24T05:00:00Z")).unwrap();
    assert_eq!(before, utc("2026-10-24T06:00:00Z"));
    let after = schedule.next_fire_after(before).unwrap();
    assert_eq!(after, utc("2026-10-25T07:00:00Z"));
}

#[test]
fn a_local_time_in_the_spring_gap_fires_at_the_first_minute_after_it() {
    let schedule = daily_paris("02:30", "2026-03-20T12:00:00Z");
    let next = schedule.next_fire_after(utc("2026-03-28T23:00:00Z")).unwrap();
    // 03:00 CEST, the first local minute that exists.
    assert_eq!(next, utc("2026-03-29T01:00:00Z"));
}

#[test]
fn a_local_time_in_the_autumn_overlap_fires_once_at_its_first_occurrence() {
    let schedule = daily_paris("02:30", "2026-10-01T12:00:00Z");
    let first = schedule.next_fire_after(utc("2026-10-24T23:00:00Z")).unwrap();
    // 02:30 CEST (00:30Z), not 02:30 CET (01:30Z) as well.
    assert_eq!(first, utc("2026-10-25T00:30:00Z"));
    assert_eq!(schedule.next_fire_after(first).unwrap(), utc("2026-10-26T01:30:00Z"));
}

#[test]
fn a_cron_expression_is_read_in_the_timers_time_zone_across_dst() {
    let schedule = Schedule::parse(
        &ScheduleRequest {
            cron: Some("0 8 * * *".into()),
            timezone: Some("Europe/Paris".into()),
            ..request()
        },
        utc("2026-03-27T12:00:00Z"),
    )
    .unwrap();
    let first = schedule.next_fire_after(utc("2026-03-28T00:00:00Z")).unwrap();
    assert_eq!(first, utc("2026-03-28T07:00:00Z"));
    assert_eq!(schedule.next_fire_after(first).unwrap(), utc("2026-03-29T06:00:00Z"));
}

#[test]
fn an_every_period_of_days_keeps_to_its_grid_from_the_creation_day() {
    let schedule = Schedule::parse(
        &ScheduleRequest {
            every: Some("3d".into()),
            at_time: Some("08:00".into()),
            ..request()
        },
        utc("2026-01-01T09:00:00Z"),
    )
    .unwrap();
    // 2026-01-01 08:00 is past; the grid is Jan 1, 4, 7...
    assert_eq!(
        schedule.first_fire(utc("2026-01-01T09:00:00Z")).unwrap(),
        utc("2026-01-04T08:00:00Z")
    );
    assert_eq!(
        schedule.next_fire_after(utc("2026-01-04T08:00:00Z")).unwrap(),
        utc("2026-01-07T08:00:00Z")
    );
}

#[test]
fn an_every_period_without_a_time_counts_elapsed_time_from_creation() {
    let created = utc("2026-03-28T22:00:00Z");
    let schedule = Schedule::parse(
        &ScheduleRequest {
            every: Some("6h".into()),
            ..request()
        },
        created,
    )
    .unwrap();
    assert_eq!(schedule.first_fire(created).unwrap(), utc("2026-03-29T04:00:00Z"));
    // Missed periods are not replayed: the next is the first on the grid after the instant asked about.
    assert_eq!(
        schedule.next_fire_after(utc("2026-03-30T05:00:00Z")).unwrap(),
        utc("2026-03-30T10:00:00Z")
    );
}

#[test]
fn one_shot_times_fire_once() {
    let now = utc("2026-01-01T00:00:00Z");
    let at = Schedule::parse(
        &ScheduleRequest {
            at: Some("2026-01-02T00:00:00+01:00".into()),
            ..request()
        },
        now,
    )
    .unwrap();
    assert_eq!(at.first_fire(now).unwrap(), utc("2026-01-01T23:00:00Z"));
    assert_eq!(at.next_fire_after(now), None);
    let countdown = Schedule::parse(
        &ScheduleRequest {
            countdown: Some(Countdown {
                hours: 49,
                minutes: 1,
                seconds: 5,
            }),
            ..request()
        },
        now,
    )
    .unwrap();
    assert_eq!(countdown.first_fire(now).unwrap(), utc("2026-01-03T01:01:05Z"));
}

#[test]
fn time_left_counts_whole_days_and_rounds_up() {
    let now = utc("2026-01-01T00:00:00Z");
    assert_eq!(time_left_seconds(utc("2026-01-03T01:01:05Z"), now), 2 * 86_400 + 3_665);
    assert_eq!(time_left_seconds(now + Duration::milliseconds(1_500), now), 2);
    assert_eq!(time_left_seconds(now - Duration::seconds(5), now), 0);
}

#[test]
fn each_invalid_field_is_named() {
    let now = utc("2026-01-01T00:00:00Z");
    let parse = |request: ScheduleRequest| Schedule::parse(&request, now);
    assert_eq!(field_of(parse(request())), "schedule");
    let both = ScheduleRequest {
        at: Some("2026-02-01T00:00:00Z".into()),
        cron: Some("0 8 * * *".into()),
        ..request()
    };
    assert_eq!(field_of(parse(both)), "schedule");
    let past = ScheduleRequest {
        at: Some("2025-12-31T23:59:59Z".into()),
        ..request()
    };
    assert_eq!(field_of(parse(past)), "at");
    let garbled = ScheduleRequest {
        at: Some("tomorrow".into()),
        ..request()
    };
    assert_eq!(field_of(parse(garbled)), "at");
    let countdown = |hours, minutes, seconds| ScheduleRequest {
        countdown: Some(Countdown {
            hours,
            minutes,
            seconds,
        }),
        ..request()
    };
    assert_eq!(field_of(parse(countdown(-1, 0, 0))), "in.hours");
    assert_eq!(field_of(parse(countdown(0, -5, 10))), "in.minutes");
    assert_eq!(field_of(parse(countdown(0, 0, -1))), "in.seconds");
    assert_eq!(field_of(parse(countdown(0, 0, 0))), "in");
    assert_eq!(field_of(parse(countdown(i64::MAX, 0, 0))), "in.hours");
    let every = |every: &str, at_time: Option<&str>, timezone: Option<&str>| ScheduleRequest {
        every: Some(every.into()),
        at_time: at_time.map(Into::into),
        timezone: timezone.map(Into::into),
        ..request()
    };
    for bad in ["", "d", "1w", "0d", "-1d", "30s", "0m", "1.5h", "99999d"] {
        assert_eq!(field_of(parse(every(bad, None, None))), "every", "{bad:?}");
    }
    for bad in ["8:00", "24:00", "08:60", "08:00:00", "noon"] {
        assert_eq!(field_of(parse(every("1d", Some(bad), None))), "at_time", "{bad:?}");
    }
    assert_eq!(field_of(parse(every("6h", Some("08:00"), None))), "at_time");
    assert_eq!(field_of(parse(every("1d", None, Some("Mars/Olympus")))), "timezone");
    let at_time_alone = ScheduleRequest {
        cron: Some("0 8 * * *".into()),
        at_time: Some("08:00".into()),
        ..request()
    };
    assert_eq!(field_of(parse(at_time_alone)), "at_time");
    for bad in ["", "* * *", "61 * * * *", "0 8 * * * *", "0 8 31 2 *"] {
        let cron = ScheduleRequest {
            cron: Some(bad.into()),
            ..request()
        };
        assert_eq!(field_of(parse(cron)), "cron", "{bad:?}");
    }
}

#[test]
fn a_stored_schedule_reads_back_the_same() {
    let now = utc("2026-01-01T00:00:00Z");
    let requests = [
        ScheduleRequest {
            at: Some("2026-01-02T00:00:00Z".into()),
            ..request()
        },
        ScheduleRequest {
            every: Some("2d".into()),
            at_time: Some("07:15".into()),
            timezone: Some("America/New_York".into()),
            ..request()
        },
        ScheduleRequest {
            cron: Some("*/5 9-17 * * 1-5".into()),
            timezone: Some("Asia/Tokyo".into()),
            ..request()
        },
    ];
    for request in requests {
        let schedule = Schedule::parse(&request, now).unwrap();
        let again = Schedule::from_stored(&schedule.stored()).unwrap();
        assert_eq!(again.stored(), schedule.stored());
        let later = utc("2026-01-05T12:34:56Z");
        assert_eq!(again.next_fire_after(later), schedule.next_fire_after(later));
    }
}
