//! Secrets in config files: read from an environment variable or a file, never printed.

use super::Diagnostics;
use std::fmt;
use std::path::Path;

/// A secret value (password, client secret, token, ready-made header). `Debug` prints `***`;
/// there is no `Display`: the value leaves only through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The value itself, for the wire only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Reads `<prefix>.<name>_env` or `<prefix>.<name>_file` (exactly one of them; neither is an error
/// only when `required`). A file is relative to `base` (the folder of soapgate.yaml) and loses its
/// trailing line break; an empty secret is an error. Errors name `cfg_file`, the key and the fix.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read(
    env: &Option<String>,
    file: &Option<String>,
    base: &Path,
    cfg_file: &str,
    prefix: &str,
    name: &str,
    required: bool,
    d: &mut Diagnostics,
) -> Option<Secret> {
    let (env_key, file_key) = (format!("{prefix}.{name}_env"), format!("{prefix}.{name}_file"));
    let value = match (env, file) {
        (Some(_), Some(_)) => {
            d.error(
                cfg_file,
                prefix,
                format!("both `{name}_env` and `{name}_file` are given"),
                &format!("keep exactly one of `{name}_env` and `{name}_file`"),
            );
            return None;
        }
        (None, None) if !required => return None,
        (None, None) => {
            d.error(
                cfg_file,
                prefix,
                format!("no `{name}_env` or `{name}_file`"),
                &format!("add `{name}_env: VARIABLE` or `{name}_file: path/to/file`"),
            );
            return None;
        }
        (Some(var), None) => match std::env::var(var) {
            Ok(v) => (v, env_key),
            Err(std::env::VarError::NotPresent) => {
                d.error(
                    cfg_file,
                    &env_key,
                    format!("the environment variable `{var}` is not set"),
                    &format!("set `{var}` in soapgate's environment, or use `{name}_file`"),
                );
                return None;
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                d.error(
                    cfg_file,
                    &env_key,
                    format!("the environment variable `{var}` is not valid UTF-8"),
                    &format!("store the {name} as UTF-8 text"),
                );
                return None;
            }
        },
        (None, Some(path)) => {
            let full = base.join(path);
            match std::fs::read_to_string(&full) {
                Ok(v) => {
                    let v = v.strip_suffix('\n').unwrap_or(&v);
                    let v = v.strip_suffix('\r').unwrap_or(v);
                    (v.to_string(), file_key)
                }
                Err(e) => {
                    d.error(
                        cfg_file,
                        &file_key,
                        format!("cannot read {}: {e}", full.display()),
                        &format!("create the file with the {name} (path relative to soapgate.yaml) and make it readable"),
                    );
                    return None;
                }
            }
        }
    };
    let (value, key) = value;
    if value.is_empty() {
        d.error(
            cfg_file,
            &key,
            format!("the {name} is empty"),
            &format!("provide a non-empty {name}"),
        );
        return None;
    }
    Some(Secret(value))
}
