//! Where and how a target is reached: its URLs and the CA that verifies them.
//!
//! URLs are quoted in messages, so any `user:password@` part is hidden first, and URLs with
//! credentials are refused: they would show on screen and in logs, while a header is redacted.

use std::path::{Path, PathBuf};

use reqwest::Url;
use toml::Spanned;

use super::error::Problems;
use super::validate::Context;

pub(super) fn url(
    ctx: &str,
    key: &str,
    raw: &Spanned<String>,
    p: &mut Problems<'_>,
) -> Option<Url> {
    let text = raw.get_ref();
    let shown = redact_userinfo(text);
    let parsed = match Url::parse(text) {
        Ok(u) => u,
        Err(err) => {
            p.push(
                &raw.span(),
                format!(
                    "{ctx}{key} {shown:?} is not a valid URL ({err}) — write a full URL such as \
                     \"http://127.0.0.1:9101/metrics\""
                ),
            );
            return None;
        }
    };
    if parsed.cannot_be_a_base() && !text.contains("://") {
        // "localhost:9101/metrics" parses as scheme "localhost"; say what was really meant.
        p.push(
            &raw.span(),
            format!(
                "{ctx}{key} {shown:?} does not start with http:// or https:// — write \
                 \"http://{shown}\""
            ),
        );
        return None;
    }
    if !matches!(parsed.scheme(), "http" | "https") {
        p.push(
            &raw.span(),
            format!(
                "{ctx}{key} {shown:?} uses scheme \"{}\" — only http:// and https:// are \
                 supported; write a full URL such as \"http://127.0.0.1:9101/metrics\"",
                parsed.scheme()
            ),
        );
        return None;
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        p.push(
            &raw.span(),
            format!(
                "{ctx}{key} {shown:?} carries credentials — they would show on screen and in \
                 logs; remove them from the URL and send them from [target.headers] instead, \
                 e.g. Authorization = \"Basic ${{TOKEN}}\""
            ),
        );
        return None;
    }
    Some(parsed)
}

/// Hides `user:password@` in a URL-ish string before it is quoted in a message, even when the
/// string does not parse.
fn redact_userinfo(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let authority_start = scheme_end + 3;
    let authority_end = text[authority_start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |i| authority_start + i);
    match text[authority_start..authority_end].rfind('@') {
        Some(at) => format!(
            "{}***@{}",
            &text[..authority_start],
            &text[authority_start + at + 1..]
        ),
        None => text.to_string(),
    }
}

pub(super) fn ca_file<'u>(
    ctx: &str,
    raw: &Spanned<String>,
    mut urls: impl Iterator<Item = &'u Url>,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Option<PathBuf> {
    // A CA that nothing uses usually means a URL was written http:// by mistake, and then the
    // traffic the operator thinks is verified is not even encrypted.
    let unused = (!urls.any(|u| u.scheme() == "https")).then(|| {
        format!("{ctx}ca_file is set but no URL of this target uses https:// — switch the URLs to https or remove ca_file")
    });
    ca_path(ctx, raw, unused, cx, p)
}

/// The common part of every `ca_file`: not empty, `unused` (why the file would not be used, if
/// so) reported, the path resolved against the config file and, with file checks on, read.
pub(super) fn ca_path(
    ctx: &str,
    raw: &Spanned<String>,
    unused: Option<String>,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Option<PathBuf> {
    let text = raw.get_ref();
    if text.trim().is_empty() {
        p.push(
            &raw.span(),
            format!("{ctx}ca_file is empty — give the path of a PEM file or remove the key"),
        );
        return None;
    }
    if let Some(why) = unused {
        p.push(&raw.span(), why);
    }
    let path = relative_to_config(text, cx);
    check_ca_file(ctx, raw, &path, cx, p);
    Some(path)
}

/// A path from the config, relative paths starting at the config file's directory.
pub(super) fn relative_to_config(raw: &str, cx: &Context<'_>) -> PathBuf {
    match cx.source.and_then(Path::parent) {
        // Made absolute now: a path that still depended on the current directory would change
        // meaning with it (a config given as `--config etc/wd.toml`).
        Some(dir) if Path::new(raw).is_relative() => std::path::absolute(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .join(raw),
        _ => PathBuf::from(raw),
    }
}

/// With file checks on, says whether `path` can be read and holds a PEM certificate.
pub(super) fn check_ca_file(
    ctx: &str,
    raw: &Spanned<String>,
    path: &Path,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) {
    if !cx.check_files {
        return;
    }
    match crate::safe_fs::read_regular_string(path, crate::safe_fs::MAX_CONFIG_FILE) {
        Ok(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => {}
        Ok(_) => p.push(
            &raw.span(),
            format!("{ctx}ca_file {:?} holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" line) — point it at the CA certificate in PEM form", path.display().to_string()),
        ),
        Err(err) => p.push(
            &raw.span(),
            format!("{ctx}ca_file {:?} cannot be read: {err} — check the path (relative paths start at the config file's directory)", path.display().to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_hidden() {
        assert_eq!(redact_userinfo("http://u:pw@h:1/x@y"), "http://***@h:1/x@y");
        assert_eq!(redact_userinfo("http://h/x"), "http://h/x");
        assert_eq!(redact_userinfo("h@x"), "h@x");
    }
}
