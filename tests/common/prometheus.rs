//! A strict reader of the Prometheus text exposition format (version
//! 0.0.4), enough to check what `/metrics` returns and to read values.

use std::collections::{BTreeMap, HashMap, HashSet};

/// One sample: metric name, labels sorted by name, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition.
#[derive(Debug, Default)]
pub struct Exposition {
    /// Declared type of each metric family, by family name.
    pub types: HashMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// Returns the value of the sample with this name and exactly these
    /// labels, or `None` when there is none.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|sample| sample.name == name && sample.labels == wanted)
            .map(|sample| sample.value)
    }

    /// Like [`Exposition::value`], with 0 for a sample not exposed yet.
    pub fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }

    /// Returns every sample of this name.
    pub fn samples_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples
            .iter()
            .filter(move |sample| sample.name == name)
    }
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text
            .parse::<f64>()
            .map_err(|_| format!("invalid sample value {text:?}")),
    }
}

/// Parses `{name="value",…}` at the start of `text` and returns the
/// labels and the rest of the line.
fn parse_labels(text: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = text
        .strip_prefix('{')
        .ok_or_else(|| "labels must start with {".to_owned())?;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (name, after_name) = rest
            .split_once("=\"")
            .ok_or_else(|| format!("label without =\" in {text:?}"))?;
        if !is_label_name(name) {
            return Err(format!("invalid label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = after_name.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("invalid escape {other:?} in {text:?}")),
                },
                Some((index, '"')) => break index,
                Some((_, c)) => value.push(c),
                None => return Err(format!("unterminated label value in {text:?}")),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label {name} repeated in {text:?}"));
        }
        rest = &after_name[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// Returns the family a sample belongs to: its own name, or the name without the
/// suffix that histograms and summaries add.
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        name.strip_suffix(suffix)
            .filter(|base| types.contains_key(*base))
    })
}

fn record_help(helped: &mut HashSet<String>, name: &str) -> Result<(), String> {
    if !is_metric_name(name) || !helped.insert(name.to_owned()) {
        return Err("invalid or repeated HELP".into());
    }
    Ok(())
}

fn record_type(types: &mut HashMap<String, String>, name: &str, kind: &str) -> Result<(), String> {
    let known = ["counter", "gauge", "histogram", "summary", "untyped"];
    if !is_metric_name(name) || !known.contains(&kind) {
        return Err("invalid TYPE".into());
    }
    if types.insert(name.to_owned(), kind.to_owned()).is_some() {
        return Err("repeated TYPE".into());
    }
    Ok(())
}

/// Parses a Prometheus text exposition, rejecting anything the format does
/// not allow: malformed lines, a sample before its `# TYPE`, a `# TYPE`
/// repeated, unknown types, and histograms whose buckets are not
/// cumulative or disagree with their `_count`.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut exposition = Exposition::default();
    let mut helped = HashSet::new();
    for (number, line) in text.lines().enumerate() {
        let at = |message: String| format!("line {}: {message}: {line:?}", number + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let parts: Vec<&str> = comment.splitn(3, ' ').collect();
            match parts.as_slice() {
                ["HELP", name, ..] => record_help(&mut helped, name).map_err(at)?,
                ["TYPE", name, kind] => {
                    record_type(&mut exposition.types, name, kind).map_err(at)?
                }
                _ => {}
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }

        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value".into()))?;
        let name = &line[..name_end];
        if !is_metric_name(name) {
            return Err(at(format!("invalid metric name {name:?}")));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(at)?
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let mut fields = rest.split_whitespace();
        let value = parse_value(fields.next().ok_or_else(|| at("no value".into()))?).map_err(at)?;
        if let Some(timestamp) = fields.next() {
            timestamp
                .parse::<i64>()
                .map_err(|_| at("invalid timestamp".into()))?;
        }
        if fields.next().is_some() {
            return Err(at("unexpected text after the value".into()));
        }
        if family_of(name, &exposition.types).is_none() {
            return Err(at(format!("sample {name} has no TYPE line before it")));
        }
        exposition.samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    check_histograms(&exposition)?;
    Ok(exposition)
}

fn check_histograms(exposition: &Exposition) -> Result<(), String> {
    for (family, kind) in &exposition.types {
        if kind != "histogram" {
            continue;
        }
        let bucket_name = format!("{family}_bucket");
        let count_name = format!("{family}_count");
        let mut series: HashMap<BTreeMap<String, String>, Vec<(f64, f64)>> = HashMap::new();
        for sample in exposition.samples_named(&bucket_name) {
            let mut labels = sample.labels.clone();
            let bound = labels
                .remove("le")
                .ok_or_else(|| format!("{bucket_name} sample without le"))?;
            let bound = parse_value(&bound)?;
            series
                .entry(labels)
                .or_default()
                .push((bound, sample.value));
        }
        for (labels, buckets) in series {
            let counts: Vec<f64> = buckets.iter().map(|(_, count)| *count).collect();
            if counts.windows(2).any(|pair| pair[1] < pair[0]) {
                return Err(format!("{bucket_name}{labels:?} is not cumulative"));
            }
            let Some((last_bound, last_count)) = buckets.last() else {
                continue;
            };
            if *last_bound != f64::INFINITY {
                return Err(format!("{bucket_name}{labels:?} lacks the +Inf bucket"));
            }
            let count = exposition
                .samples_named(&count_name)
                .find(|sample| sample.labels == labels)
                .map(|sample| sample.value);
            if count != Some(*last_count) {
                return Err(format!(
                    "{count_name}{labels:?} is {count:?}, but the +Inf bucket is {last_count}"
                ));
            }
        }
    }
    Ok(())
}
