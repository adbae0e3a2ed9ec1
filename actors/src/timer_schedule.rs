//! When a timer fires: parsing a one-shot instant, a countdown, an `every` period or a cron expression, and
//! finding the next instant after a given one in the timer's time zone.
//!
//! Local times are resolved the way croner resolves cron times, so both kinds of schedule agree across a
//! daylight-saving change:
//! - a local time that does not exist (the spring-forward gap) fires at the first valid minute after the gap,
//!   on the same day (02:30 Europe/Paris on the last Sunday of March fires at 03:00 CEST);
//! - a local time that exists twice (the fall-back overlap) fires once, at its first occurrence.
//!
//! An `every` period without `at_time` is elapsed time (`6h` is six real hours, across a DST change too); with
//! `at_time` it is a number of calendar days, counted from the timer's creation day.

use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};
use croner::Cron;

/// The longest countdown or period a timer accepts.
pub const MAX_SPAN: Duration = Duration::days(3_660);
/// The shortest `every` period: a timer is not a busy loop.
pub const MIN_PERIOD: Duration = Duration::minutes(1);
/// How far the gap search walks: no time zone skips more than a day.
const GAP_SEARCH_MINUTES: i64 = 24 * 60;

/// A schedule field that is wrong: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ScheduleError {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> ScheduleError {
    ScheduleError {
        field,
        message: message.into(),
    }
}

/// A countdown as the client sends it; each part is optional and non-negative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Countdown {
    pub hours: i64,
    pub minutes: i64,
    pub seconds: i64,
}

/// The schedule fields of a create request, as sent: exactly one of `at`, `in`, `every` and `cron`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleRequest {
    pub at: Option<String>,
    pub countdown: Option<Countdown>,
    pub every: Option<String>,
    pub at_time: Option<String>,
    pub timezone: Option<String>,
    pub cron: Option<String>,
}

/// A timer's schedule once parsed. Holding one means it is valid.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Fires once, at `at`.
    Once { at: DateTime<Utc> },
    /// Fires every `period`, counted from `anchor`; or, with `at_time`, every `period` days at that local time.
    Every {
        period: Period,
        at_time: Option<NaiveTime>,
        timezone: Tz,
        anchor: DateTime<Utc>,
    },
    /// Fires at each occurrence of a five-field cron expression, read in `timezone`.
    Cron { cron: Box<Cron>, timezone: Tz },
}

/// An `every` period: a count of one unit, as `1d`, `6h` or `30m` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub count: i64,
    pub unit: PeriodUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodUnit {
    Days,
    Hours,
    Minutes,
}

impl Period {
    /// Parses `<count><unit>` with unit `d`, `h` or `m`, between one minute and [`MAX_SPAN`].
    pub fn parse(text: &str) -> Result<Period, ScheduleError> {
        let text = text.trim();
        let unit = match text.chars().last() {
            Some('d') => PeriodUnit::Days,
            Some('h') => PeriodUnit::Hours,
            Some('m') => PeriodUnit::Minutes,
            _ => return Err(invalid("every", "must be a count and a unit, such as 1d, 6h or 30m")),
        };
        let count: i64 = text[..text.len() - 1]
            .parse()
            .map_err(|_| invalid("every", "must be a count and a unit, such as 1d, 6h or 30m"))?;
        let period = Period { count, unit };
        if count <= 0 || period.length() < MIN_PERIOD {
            return Err(invalid("every", "must be at least one minute"));
        }
        if period.length() > MAX_SPAN {
            return Err(invalid("every", "must be at most 3660 days"));
        }
        Ok(period)
    }

    pub fn length(self) -> Duration {
        match self.unit {
            PeriodUnit::Days => Duration::days(self.count),
            PeriodUnit::Hours => Duration::hours(self.count),
            PeriodUnit::Minutes => Duration::minutes(self.count),
        }
    }

    /// The period as `parse` reads it.
    pub fn text(self) -> String {
        let unit = match self.unit {
            PeriodUnit::Days => 'd',
            PeriodUnit::Hours => 'h',
            PeriodUnit::Minutes => 'm',
        };
        format!("{}{unit}", self.count)
    }
}

/// A schedule as the store keeps it: `kind` is `once`, `every` or `cron`; `spec` the period or the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    pub kind: String,
    pub spec: Option<String>,
    pub at_time: Option<String>,
    pub timezone: String,
    /// A one-shot timer's instant, or where an `every` period counts from.
    pub anchor: DateTime<Utc>,
}

impl Schedule {
    /// Parses a create request's schedule fields at `now`; the error names the field at fault.
    pub fn parse(request: &ScheduleRequest, now: DateTime<Utc>) -> Result<Schedule, ScheduleError> {
        let given = [
            request.at.is_some(),
            request.countdown.is_some(),
            request.every.is_some(),
            request.cron.is_some(),
        ];
        match given.iter().filter(|given| **given).count() {
            0 => return Err(invalid("schedule", "give one of at, in, every or cron")),
            1 => {}
            _ => return Err(invalid("schedule", "give only one of at, in, every or cron")),
        }
        let timezone = parse_timezone(request.timezone.as_deref())?;
        if request.at_time.is_some() && request.every.is_none() {
            return Err(invalid("at_time", "is only read with every"));
        }
        if let Some(at) = &request.at {
            let at = DateTime::parse_from_rfc3339(at)
                .map_err(|_| invalid("at", "must be an RFC 3339 date-time, such as 2026-12-24T18:00:00Z"))?
                .with_timezone(&Utc);
            return Schedule::once(at, now, "at");
        }
        if let Some(countdown) = request.countdown {
            return Schedule::once(now + countdown_length(countdown)?, now, "in");
        }
        if let Some(every) = &request.every {
            let period = Period::parse(every)?;
            let at_time = request.at_time.as_deref().map(parse_at_time).transpose()?;
            if at_time.is_some() && period.unit != PeriodUnit::Days {
                return Err(invalid("at_time", "needs an every in whole days, such as 1d"));
            }
            return Ok(Schedule::Every {
                period,
                at_time,
                timezone,
                anchor: now,
            });
        }
        let cron = parse_cron(request.cron.as_deref().unwrap_or_default())?;
        let schedule = Schedule::Cron {
            cron: Box::new(cron),
            timezone,
        };
        if schedule.next_fire_after(now).is_none() {
            return Err(invalid("cron", "never matches a future time"));
        }
        Ok(schedule)
    }

    fn once(at: DateTime<Utc>, now: DateTime<Utc>, field: &'static str) -> Result<Schedule, ScheduleError> {
        if at <= now {
            return Err(invalid(field, "must be in the future"));
        }
        if at - now > MAX_SPAN {
            return Err(invalid(field, "must be at most 3660 days away"));
        }
        Ok(Schedule::Once { at })
    }

    /// The schedule the store kept; an error names the field that was not written by this module.
    pub fn from_stored(stored: &StoredSchedule) -> Result<Schedule, ScheduleError> {
        let timezone = parse_timezone(Some(&stored.timezone))?;
        let spec = stored.spec.as_deref().unwrap_or_default();
        match stored.kind.as_str() {
            "once" => Ok(Schedule::Once { at: stored.anchor }),
            "every" => Ok(Schedule::Every {
                period: Period::parse(spec)?,
                at_time: stored.at_time.as_deref().map(parse_at_time).transpose()?,
                timezone,
                anchor: stored.anchor,
            }),
            "cron" => Ok(Schedule::Cron {
                cron: Box::new(parse_cron(spec)?),
                timezone,
            }),
            other => Err(invalid("schedule", format!("unknown stored kind {other:?}"))),
        }
    }

    pub fn stored(&self) -> StoredSchedule {
        match self {
            Schedule::Once { at } => StoredSchedule {
                kind: "once".to_owned(),
                spec: None,
                at_time: None,
                timezone: "UTC".to_owned(),
                anchor: *at,
            },
            Schedule::Every {
                period,
                at_time,
                timezone,
                anchor,
            } => StoredSchedule {
                kind: "every".to_owned(),
                spec: Some(period.text()),
                at_time: at_time.map(|time| time.format("%H:%M").to_string()),
                timezone: timezone.name().to_owned(),
                anchor: *anchor,
            },
            Schedule::Cron { cron, timezone } => StoredSchedule {
                kind: "cron".to_owned(),
                spec: Some(cron.pattern.to_string()),
                at_time: None,
                timezone: timezone.name().to_owned(),
                anchor: DateTime::UNIX_EPOCH,
            },
        }
    }

    /// The first instant the timer fires at, for a timer created (or rescheduled) at `now`.
    pub fn first_fire(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Once { at } => Some(*at),
            _ => self.next_fire_after(now),
        }
    }

    /// The first instant strictly after `after` at which the timer fires; `None` for a one-shot timer (it has
    /// fired) or a cron expression with no later match.
    pub fn next_fire_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Once { .. } => None,
            Schedule::Every {
                period,
                at_time: None,
                anchor,
                ..
            } => {
                let length = period.length().num_seconds();
                let elapsed = (after - *anchor).num_seconds();
                let periods = elapsed.div_euclid(length) + 1;
                Some(*anchor + Duration::seconds(periods * length))
            }
            Schedule::Every {
                period,
                at_time: Some(at_time),
                timezone,
                anchor,
            } => Some(next_local_day(*period, *at_time, *timezone, *anchor, after)),
            Schedule::Cron { cron, timezone } => cron
                .find_next_occurrence(&after.with_timezone(timezone), false)
                .ok()
                .map(|next| next.with_timezone(&Utc)),
        }
    }

    /// Whether the timer fires once only.
    pub fn is_one_shot(&self) -> bool {
        matches!(self, Schedule::Once { .. })
    }
}

/// Whole seconds left until `next`, rounded up, never negative: days included (the seed's flaw dropped them).
pub fn time_left_seconds(next: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let left = next - now;
    if left <= Duration::zero() {
        return 0;
    }
    let seconds = left.num_seconds();
    if left > Duration::seconds(seconds) {
        seconds + 1
    } else {
        seconds
    }
}

fn countdown_length(countdown: Countdown) -> Result<Duration, ScheduleError> {
    let parts = [
        ("in.hours", countdown.hours, 3_600),
        ("in.minutes", countdown.minutes, 60),
        ("in.seconds", countdown.seconds, 1),
    ];
    let mut total: i64 = 0;
    for (field, value, unit) in parts {
        if value < 0 {
            return Err(invalid(field, "must not be negative"));
        }
        total = value
            .checked_mul(unit)
            .and_then(|seconds| total.checked_add(seconds))
            .filter(|total| *total <= MAX_SPAN.num_seconds())
            .ok_or_else(|| invalid(field, "makes the countdown longer than 3660 days"))?;
    }
    if total == 0 {
        return Err(invalid("in", "must be longer than zero seconds"));
    }
    Ok(Duration::seconds(total))
}

fn parse_timezone(name: Option<&str>) -> Result<Tz, ScheduleError> {
    match name {
        None => Ok(Tz::UTC),
        Some(name) => {
            Tz::from_str(name).map_err(|_| invalid("timezone", "must be an IANA time zone name, such as Europe/Paris"))
        }
    }
}

/// `HH:MM`, 24-hour.
fn parse_at_time(text: &str) -> Result<NaiveTime, ScheduleError> {
    let valid = text.len() == 5 && text.as_bytes()[2] == b':';
    valid
        .then(|| NaiveTime::parse_from_str(text, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| invalid("at_time", "must be a 24-hour HH:MM time, such as 08:00"))
}

/// Five fields (minute, hour, day of month, month, day of week), as cron has them.
fn parse_cron(text: &str) -> Result<Cron, ScheduleError> {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .build()
        .parse(text.trim())
        .map_err(|error| invalid("cron", format!("is not a five-field cron expression: {error}")))
}

/// The first day on the period's grid (every `period.count` days from the anchor's local day) whose `at_time`
/// is after `after`.
fn next_local_day(
    period: Period,
    at_time: NaiveTime,
    timezone: Tz,
    anchor: DateTime<Utc>,
    after: DateTime<Utc>,
) -> DateTime<Utc> {
    let anchor_day = anchor.with_timezone(&timezone).date_naive();
    let mut day = after.with_timezone(&timezone).date_naive() - Duration::days(1);
    let offset = (day - anchor_day).num_days().rem_euclid(period.count);
    if offset != 0 {
        day += Duration::days(period.count - offset);
    }
    loop {
        let instant = resolve_local(timezone, day.and_time(at_time));
        if instant > after {
            return instant;
        }
        day = next_grid_day(day, period.count);
    }
}

fn next_grid_day(day: NaiveDate, count: i64) -> NaiveDate {
    day + Duration::days(count)
}

/// A local time as an instant: the first of two in an overlap, the first valid minute after a gap.
pub fn resolve_local(timezone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut candidate = local;
    for _ in 0..=GAP_SEARCH_MINUTES {
        match timezone.from_local_datetime(&candidate) {
            LocalResult::Single(instant) => return instant.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => candidate += Duration::minutes(1),
        }
    }
    // No zone has a gap this long; read the time as UTC rather than loop.
    Utc.from_utc_datetime(&local)
}

#[cfg(test)]
#[path = "timer_schedule_tests.rs"]
mod tests;
