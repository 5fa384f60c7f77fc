//! The generic layered-TOML loader: files and environment variables become TOML tables
//! ("layers"), merged lowest first, then deserialised once into a typed schema. Nothing here
//! knows a key: ranges and enums live on the schema's fields (`super::fields`), unknown keys
//! are the keys the schema ignores. Every error names the layer that set the offending value
//! (file, environment variable or "command line"), the full dotted key and the value.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;

use super::SettingsError;

/// One configuration layer: a TOML table and where it came from.
pub(crate) struct Layer {
    /// The file, `PREFIX__* environment` or `command line`.
    pub(crate) origin: String,
    /// For environment layers: full key -> variable name.
    env_names: BTreeMap<String, String>,
    table: toml::Table,
}

impl Layer {
    /// A layer made in code (command-line overrides), from full dotted keys.
    pub(crate) fn from_keys(origin: &str, values: &[(String, toml::Value)]) -> Self {
        let mut table = toml::Table::new();
        for (key, value) in values {
            insert(&mut table, key, value.clone());
        }
        Self {
            origin: origin.to_owned(),
            env_names: BTreeMap::new(),
            table,
        }
    }

    /// A TOML file; `display` is how errors name it.
    pub(crate) fn file(path: &Path, display: String) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            SettingsError::new(display.clone(), format!("cannot read: {error}"))
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|error| {
            SettingsError::new(display.clone(), format!("invalid TOML: {error}"))
        })?;
        Ok(Self {
            origin: display,
            env_names: BTreeMap::new(),
            table,
        })
    }

    /// Environment variables `PREFIX__A__B=v` as a layer with key `a.b`. Values are parsed as
    /// TOML scalars when they look like one (numbers, booleans), else kept as strings (a
    /// list-valued key's field accepts a comma-separated string).
    pub(crate) fn environment(env: &[(String, String)], prefix: &str) -> Self {
        let mut table = toml::Table::new();
        let mut env_names = BTreeMap::new();
        let head = format!("{prefix}__");
        for (name, raw) in env {
            let Some(rest) = name.strip_prefix(&head) else {
                continue;
            };
            let key = rest.to_ascii_lowercase().replace("__", ".");
            insert(&mut table, &key, parse_scalar(raw));
            env_names.insert(key, name.clone());
        }
        Self {
            origin: format!("{prefix}__* environment"),
            env_names,
            table,
        }
    }

    fn names(&self, key: &str) -> String {
        self.env_names
            .get(key)
            .cloned()
            .unwrap_or_else(|| self.origin.clone())
    }
}

/// The layers that were merged, kept to say where a value came from.
pub(crate) struct Layers {
    layers: Vec<Layer>,
}

impl Layers {
    /// The origin of the last layer that sets `key` (dotted), or of the closest enclosing
    /// table it sets.
    pub(crate) fn origin_of(&self, key: &str) -> String {
        let mut key = key;
        loop {
            for layer in self.layers.iter().rev() {
                if lookup(&layer.table, key).is_some() {
                    return layer.names(key);
                }
            }
            match key.rsplit_once('.') {
                Some((parent, _)) => key = parent,
                None => return "configuration".to_owned(),
            }
        }
    }

    /// The layers that set anything, lowest first (for the start-up log).
    pub(crate) fn sources(&self) -> Vec<String> {
        self.layers
            .iter()
            .filter(|l| !l.table.is_empty())
            .map(|l| l.origin.clone())
            .collect()
    }

    /// A settings error about `key`, naming the layer that set it.
    pub(crate) fn fail(&self, key: &str, detail: impl std::fmt::Display) -> SettingsError {
        SettingsError::new(self.origin_of(key), format!("{key}: {detail}"))
    }
}

/// Merges `layers` (later ones win, tables merge key by key) and deserialises the result into
/// the schema `R`. A key that `R` does not have is refused first, naming the layer that set
/// it; then the first value `R`'s fields refuse, with its full key.
pub(crate) fn load<R: DeserializeOwned>(layers: Vec<Layer>) -> Result<(R, Layers), SettingsError> {
    let mut merged = toml::Table::new();
    for layer in &layers {
        merge_into(&mut merged, &layer.table);
    }
    let layers = Layers { layers };
    let mut unknown = Vec::new();
    let result: Result<R, _> = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
        toml::Value::Table(merged),
        &mut |path: serde_ignored::Path<'_>| unknown.push(path.to_string()),
    ));
    if let Some(key) = unknown.first() {
        return Err(layers.fail(key, "unknown key"));
    }
    match result {
        Ok(raw) => Ok((raw, layers)),
        Err(error) => {
            let key = error.path().to_string();
            Err(layers.fail(&key, error.inner().message()))
        }
    }
}

fn merge_into(target: &mut toml::Table, layer: &toml::Table) {
    for (key, value) in layer {
        match (target.get_mut(key), value) {
            (Some(toml::Value::Table(below)), toml::Value::Table(above)) => {
                merge_into(below, above)
            }
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(value)
}

fn insert(table: &mut toml::Table, key: &str, value: toml::Value) {
    let parts: Vec<&str> = key.split('.').collect();
    let mut current = table;
    for part in &parts[..parts.len() - 1] {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        current = entry.as_table_mut().expect("entry was just made a table");
    }
    current.insert(parts[parts.len() - 1].to_owned(), value);
}

fn parse_scalar(raw: &str) -> toml::Value {
    if let Ok(value) = raw.parse::<i64>() {
        return toml::Value::Integer(value);
    }
    if let Ok(value) = raw.parse::<f64>() {
        if raw.contains(['.', 'e', 'E']) {
            return toml::Value::Float(value);
        }
    }
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(raw.to_owned()),
    }
}
