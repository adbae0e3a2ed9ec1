//! The engine's Prometheus metrics as the harness reads them from `/metrics`: a series' value, and a
//! histogram's buckets, so that a scenario can report what an operator's dashboard would show over the scenario,
//! as the difference of two readings.

use anyhow::Context;

/// One reading of `/metrics`.
pub struct Scrape {
    text: String,
}

impl Scrape {
    pub async fn read(metrics_url: &str) -> anyhow::Result<Scrape> {
        let text = reqwest::get(metrics_url)
            .await?
            .error_for_status()?
            .text()
            .await
            .context("read /metrics")?;
        Ok(Scrape { text })
    }

    /// A series' value, e.g. `syndic_timeline_cache_hits_total` or `name_count{label="value"}`; 0 when absent.
    pub fn value(&self, series: &str) -> f64 {
        self.text
            .lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    }

    /// The histogram `name`'s buckets, summed over its label sets.
    pub fn histogram(&self, name: &str) -> Histogram {
        let prefix = format!("{name}_bucket{{");
        let mut buckets: Vec<(f64, f64)> = Vec::new();
        for line in self.text.lines() {
            let Some(rest) = line.strip_prefix(&prefix) else {
                continue;
            };
            let Some((labels, count)) = rest.rsplit_once("} ") else {
                continue;
            };
            let bound = labels
                .split(',')
                .find_map(|label| label.strip_prefix("le=\"")?.strip_suffix('"'))
                .and_then(|bound| bound.parse::<f64>().ok());
            let (Some(bound), Ok(count)) = (bound, count.trim().parse::<f64>()) else {
                continue;
            };
            match buckets.iter_mut().find(|(le, _)| *le == bound) {
                Some((_, total)) => *total += count,
                None => buckets.push((bound, count)),
            }
        }
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        Histogram { buckets }
    }
}

/// A histogram's cumulative buckets, `(upper bound, observations at or below it)`, ascending; the last is `+Inf`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    buckets: Vec<(f64, f64)>,
}

impl Histogram {
    /// What was observed since `earlier`, a reading of the same histogram.
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let buckets = self
            .buckets
            .iter()
            .map(|&(bound, count)| {
                let before = earlier
                    .buckets
                    .iter()
                    .find(|(le, _)| *le == bound)
                    .map_or(0.0, |(_, count)| *count);
                (bound, count - before)
            })
            .collect();
        Histogram { buckets }
    }

    /// How many observations there are.
    pub fn count(&self) -> f64 {
        self.buckets.last().map_or(0.0, |(_, count)| *count)
    }

    /// How many observations are at most `bound`, which must be one of the buckets' bounds.
    pub fn at_most(&self, bound: f64) -> Option<f64> {
        self.buckets
            .iter()
            .find(|(le, _)| *le == bound)
            .map(|(_, count)| *count)
    }

    /// The smallest bucket bound at or below which lies the share `quantile` of the observations: the quantile
    /// is at most this. `None` without observations.
    pub fn quantile_bound(&self, quantile: f64) -> Option<f64> {
        let count = self.count();
        if count <= 0.0 {
            return None;
        }
        self.buckets
            .iter()
            .find(|(_, below)| *below >= quantile * count)
            .map(|(bound, _)| *bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(text: &str) -> Scrape {
        Scrape { text: text.to_owned() }
    }

    const TWO_LABEL_SETS: &str = "\
# TYPE latency_seconds histogram
latency_seconds_bucket{via=\"a\",le=\"0.01\"} 5
latency_seconds_bucket{via=\"a\",le=\"0.05\"} 9
latency_seconds_bucket{via=\"a\",le=\"+Inf\"} 10
latency_seconds_sum{via=\"a\"} 0.3
latency_seconds_count{via=\"a\"} 10
latency_seconds_bucket{via=\"b\",le=\"0.01\"} 0
latency_seconds_bucket{via=\"b\",le=\"0.05\"} 0
latency_seconds_bucket{via=\"b\",le=\"+Inf\"} 2
latency_seconds_count{via=\"b\"} 2
other_total 7
";

    #[test]
    fn a_histogram_sums_its_label_sets_and_reads_bounds_of_quantiles() {
        let read = scrape(TWO_LABEL_SETS);
        let histogram = read.histogram("latency_seconds");
        assert_eq!(histogram.count(), 12.0);
        assert_eq!(histogram.at_most(0.05), Some(9.0));
        assert_eq!(histogram.at_most(0.02), None);
        assert_eq!(histogram.quantile_bound(0.4), Some(0.01));
        assert_eq!(histogram.quantile_bound(0.5), Some(0.05));
        assert_eq!(histogram.quantile_bound(0.99), Some(f64::INFINITY));
        assert_eq!(read.value("latency_seconds_count{via=\"b\"}"), 2.0);
        assert_eq!(read.value("other_total"), 7.0);
        assert_eq!(read.value("absent_total"), 0.0);
    }

    #[test]
    fn the_difference_of_two_readings_is_what_was_observed_between() {
        let before = scrape(
            "latency_seconds_bucket{le=\"0.01\"} 4\nlatency_seconds_bucket{le=\"0.05\"} 4\n\
             latency_seconds_bucket{le=\"+Inf\"} 4\n",
        )
        .histogram("latency_seconds");
        let after = scrape(
            "latency_seconds_bucket{le=\"0.01\"} 5\nlatency_seconds_bucket{le=\"0.05\"} 8\n\
             latency_seconds_bucket{le=\"+Inf\"} 9\n",
        )
        .histogram("latency_seconds");
        let between = after.since(&before);
        assert_eq!(between.count(), 5.0);
        assert_eq!(between.quantile_bound(0.2), Some(0.01));
        assert_eq!(between.quantile_bound(0.8), Some(0.05));
        assert_eq!(between.quantile_bound(1.0), Some(f64::INFINITY));
        assert_eq!(Histogram::default().quantile_bound(0.5), None);
    }
}
